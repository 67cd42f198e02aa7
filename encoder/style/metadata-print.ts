/**
 * The text ffmpeg's `metadata` / `ametadata` filters write in print mode: a header line
 * per frame (`frame:N    pts:P    pts_time:T`) followed by its `key=value` lines. Pure.
 */

export interface PrintedFrame {
  /** Seconds, from pts_time. */
  time: number;
  values: Map<string, number>;
}

/** A printed value as a number: ffmpeg prints "-inf", "inf" and "nan" for undefined levels. */
export function printedNumber(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === "-inf") return -Infinity;
  if (t === "inf" || t === "+inf") return Infinity;
  const n = Number(t);
  return t === "" ? Number.NaN : n;
}

export function parseMetadataPrint(text: string): PrintedFrame[] {
  const frames: PrintedFrame[] = [];
  let current: PrintedFrame | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("frame:")) {
      const time = /pts_time:(\S+)/.exec(line);
      current = { time: time ? printedNumber(time[1]!) : Number.NaN, values: new Map() };
      frames.push(current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current && eq > 0) current.values.set(line.slice(0, eq).trim(), printedNumber(line.slice(eq + 1)));
  }
  return frames;
}
