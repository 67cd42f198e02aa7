import { describe, expect, it } from "vitest";
import { LineReader } from "../../encoder/ffmpeg/lines";
import { ProgressParser } from "../../encoder/ffmpeg/progress";

/** Reading what a process prints holds bounded memory, whatever it prints. */

const MiB = 1024 * 1024;
/** 96 MiB with no line break, in the 64 KiB chunks a pipe delivers. */
function pushWithoutNewline(push: (chunk: string) => void, afterEach: () => void): void {
  const chunk = "x".repeat(64 * 1024);
  for (let sent = 0; sent < 96 * MiB; sent += chunk.length) {
    push(chunk);
    afterEach();
  }
}

describe("bounded output reading", () => {
  it("the progress parser holds at most its line cap of a stream without newlines, drops that line, and parses the next block", () => {
    const fractions: number[] = [];
    const parser = new ProgressParser(2, (f) => fractions.push(f));
    let most = 0;
    pushWithoutNewline((c) => parser.push(c), () => (most = Math.max(most, parser.retained)));
    expect(most).toBeLessThanOrEqual(1024);
    parser.push("out_time_us=5\nprogress=continue\n");
    expect(fractions).toEqual([]);
    parser.push("out_time_us=1000000\nout_time=00:00:01.000000\nprogress=continue\n");
    expect(parser.retained).toBe(0);
    expect(fractions).toEqual([0.5]);
    expect(parser.reachedS).toBe(1);
  });

  it("a line reader cuts an endless line to its cap, once, and reads the lines after it", () => {
    const lines: string[] = [];
    const reader = new LineReader(2048, "truncate", (l) => lines.push(l));
    let most = 0;
    pushWithoutNewline((c) => reader.push(c), () => (most = Math.max(most, reader.retained)));
    expect(most).toBeLessThanOrEqual(2048);
    reader.push("\nframe=  10 fps=0.0\rframe=  20 fps=9.5\r\nlast without newline");
    reader.end();
    expect(lines.map((l) => l.length)).toEqual([2048, 18, 18, 20]);
    expect(lines.slice(1)).toEqual(["frame=  10 fps=0.0", "frame=  20 fps=9.5", "last without newline"]);
  });

  it("a line reader that drops over-long lines keeps the short ones around them", () => {
    const lines: string[] = [];
    const reader = new LineReader(8, "drop", (l) => lines.push(l));
    reader.push("short\nmuch too long for it\nok\n");
    expect(lines).toEqual(["short", "ok"]);
  });
});
