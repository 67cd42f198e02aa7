export function sdkTypes(document: object): Promise<string>;
