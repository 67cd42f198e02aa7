/**
 * Splits a process's output into lines (ending in \n or \r, as ffmpeg's status line
 * does) while holding at most `maxLength` characters of an unfinished line, so memory
 * stays bounded whatever the process prints, a stream without any line break included.
 * Each chunk is scanned once. A longer line is cut to its first `maxLength` characters
 * or dropped whole, as the reader chooses. Blank lines are skipped.
 */
export class LineReader {
  private partial = "";
  private overLong = false;

  constructor(
    private readonly maxLength: number,
    private readonly overLongLines: "truncate" | "drop",
    private readonly onLine: (line: string) => void,
  ) {}

  /** Characters of the unfinished line held: never more than maxLength. */
  get retained(): number {
    return this.partial.length;
  }

  push(chunk: string): void {
    const breaks = /[\r\n]/g;
    let start = 0;
    for (let match = breaks.exec(chunk); match; match = breaks.exec(chunk)) {
      this.append(chunk.slice(start, match.index));
      this.finishLine();
      start = match.index + 1;
    }
    this.append(chunk.slice(start));
  }

  /** The process has ended: its last line needs no line break. */
  end(): void {
    this.finishLine();
  }

  private append(text: string): void {
    if (this.overLong) return;
    const room = this.maxLength - this.partial.length;
    if (text.length > room) {
      this.partial += text.slice(0, room);
      this.overLong = true;
    } else {
      this.partial += text;
    }
  }

  private finishLine(): void {
    const line = this.partial;
    const cut = this.overLong;
    this.partial = "";
    this.overLong = false;
    if (cut && this.overLongLines === "drop") return;
    if (line.trim() !== "") this.onLine(line);
  }
}
