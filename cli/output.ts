/**
 * Where the CLI's words go. For people: messages on stderr (beside the bars), results on
 * stdout. For scripts (--json): one JSON object a line on stdout, nothing else there.
 */
export class Output {
  constructor(readonly json: boolean) {}

  /** A step on the way (uploaded, created, downloaded…): a line of text, or `{"event": …}`. */
  event(event: string, fields: Record<string, unknown>, text: string): void {
    if (this.json) this.line({ event, ...fields });
    else process.stderr.write(`${text}\n`);
  }

  /** What the command answers: text on stdout, or the object as one JSON line. */
  result(value: unknown, text: string): void {
    if (this.json) this.line(value);
    else process.stdout.write(`${text}\n`);
  }

  /** A failure, with the code scripts branch on. */
  error(code: string, message: string, fields: Record<string, unknown> = {}): void {
    if (this.json) this.line({ event: "error", code, message, ...fields });
    process.stderr.write(`kiln: ${code}: ${message}\n`);
  }

  private line(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  }
}
