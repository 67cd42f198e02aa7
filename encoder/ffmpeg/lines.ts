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

/** Longer stderr lines are cut: a failure message needs their start, and memory stays bounded. */
export const MAX_STDERR_LINE = 2048;

/** How many of its last stderr lines a failed process's message carries. */
const TAIL_LINES = 20;

/**
 * A process's stderr as lines (each cut at MAX_STDERR_LINE), each handed on as read,
 * and the last TAIL_LINES of them kept for a failure's message.
 */
export class StderrTail {
  private readonly last: string[] = [];
  private readonly reader: LineReader;
  /** Whether the process wrote any line at all. */
  wrote = false;

  constructor(onLine?: (line: string) => void) {
    this.reader = new LineReader(MAX_STDERR_LINE, "truncate", (line) => {
      this.wrote = true;
      this.last.push(line);
      if (this.last.length > TAIL_LINES) this.last.shift();
      onLine?.(line);
    });
  }

  push(chunk: string): void {
    this.reader.push(chunk);
  }

  /** The process has ended: its last line needs no line break. */
  end(): void {
    this.reader.end();
  }

  /** The kept lines, trimmed, one per line. */
  get text(): string {
    return this.last.map((l) => l.trim()).join("\n");
  }
}
