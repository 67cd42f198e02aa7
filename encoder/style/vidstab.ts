/**
 * vidstabdetect's transforms file (libvidstab 1.1, "VID.STAB 1"): per frame, the local
 * motions it measured between that frame and the previous one, each
 * `(LM vx vy fx fy size contrast match)`: the shift (vx, vy) of the field of `size` pixels
 * centred at (fx, fy). Pure.
 */
export interface LocalMotion {
  vx: number;
  vy: number;
  fx: number;
  fy: number;
}

/** Local motions per frame, in frame order (frame 1, which has no previous frame, is empty). */
export function parseVidstab(text: string): LocalMotion[][] {
  const frames: LocalMotion[][] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("Frame ")) continue;
    const fields: LocalMotion[] = [];
    for (const m of line.matchAll(/\(LM\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s/g)) {
      fields.push({ vx: Number(m[1]), vy: Number(m[2]), fx: Number(m[3]), fy: Number(m[4]) });
    }
    frames.push(fields);
  }
  return frames;
}
