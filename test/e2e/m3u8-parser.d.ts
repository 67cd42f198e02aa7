declare module "m3u8-parser" {
  /** The parts of m3u8-parser's API the tests use; the package ships no types. */
  export class Parser {
    push(chunk: string): void;
    end(): void;
    manifest: {
      playlists?: { uri: string; attributes: Record<string, unknown> }[];
      segments: { uri: string; duration: number; map?: { uri: string } }[];
      mediaGroups?: Record<string, unknown>;
      endList?: boolean;
    };
  }
}
