/** A request as a curl command someone can paste into a shell (the key left as $KILN_API_KEY). */
export function curlCommand(url: string, body: unknown, headers: Record<string, string> = {}): string {
  const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  const lines = [
    `curl -s ${quote(url)}`,
    // Double quotes, so the shell expands the variable.
    '-H "Authorization: Bearer $KILN_API_KEY"',
    ...Object.entries(headers).map(([name, value]) => `-H ${quote(`${name}: ${value}`)}`),
    `-H 'Content-Type: application/json'`,
    `-d ${quote(JSON.stringify(body, null, 2))}`,
  ];
  return lines.join(" \\\n  ");
}
