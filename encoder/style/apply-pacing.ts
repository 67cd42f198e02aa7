/**
 * Pacing: the cut list that re-cuts a source to a template's rhythm. Pure.
 *
 * The output is `wantedSeconds` long in shots of `shotSeconds` (60 ÷ cut_frequency),
 * on the output's frame grid. Each shot is a piece of the source, and no piece of the
 * source is used twice: the source's own shots are carved into slots one piece long, and
 * two pieces that follow each other in the output are never neighbouring slots of one
 * source shot (that cut would be invisible, the footage simply going on). When the
 * source has fewer usable slots than the rhythm needs, the output is shorter.
 */

export interface PacingInput {
  sourceSeconds: number;
  /** Where the source's own shots change, in seconds. */
  sourceCuts: readonly number[];
  /** Seconds from one output cut to the next. */
  shotSeconds: number;
  /** How long the output should run. */
  wantedSeconds: number;
  /** Seconds each transition overlaps the two shots it joins (0 for hard cuts). */
  transitionSeconds: number;
  /** The output's frame rate: every length is a whole number of its frames. */
  frameRate: number;
  /** Seconds kept clear of the source's cuts, so no piece starts or ends on a frame of the next shot. */
  marginSeconds: number;
}

/** One shot of the output: where its piece starts in the source and how many output frames it takes (its transitions' overlap included). */
export interface Piece {
  start: number;
  frames: number;
}

export interface CutList {
  pieces: Piece[];
  /** Frames each transition overlaps (0 for hard cuts). */
  transitionFrames: number;
  wantedSeconds: number;
  renderedSeconds: number;
}

interface Slot {
  shot: number;
  /** Its place among its shot's slots. */
  index: number;
  start: number;
}

/** The visible length of each output shot, in frames: the last takes what is left (between half and one and a half shots). */
export function shotFrames(wantedFrames: number, perShot: number): number[] {
  const count = Math.max(1, Math.round(wantedFrames / perShot));
  return Array.from({ length: count }, (_, i) => (i < count - 1 ? perShot : Math.max(1, wantedFrames - perShot * (count - 1))));
}

/** Every slot `slotSeconds` long the source's shots hold, in source order. */
export function carveSlots(input: PacingInput, slotSeconds: number): Slot[] {
  const bounds = [0, ...[...input.sourceCuts].filter((c) => c > 0 && c < input.sourceSeconds).sort((a, b) => a - b), input.sourceSeconds];
  const slots: Slot[] = [];
  for (let shot = 0; shot + 1 < bounds.length; shot++) {
    const from = bounds[shot]! + (shot > 0 ? input.marginSeconds : 0);
    const to = bounds[shot + 1]! - input.marginSeconds;
    const count = Math.floor((to - from) / slotSeconds + 1e-9);
    for (let index = 0; index < count; index++) slots.push({ shot, index, start: from + index * slotSeconds });
  }
  return slots;
}

/** Whether cutting from one slot straight to the other would show the footage going on rather than a cut. */
const continuous = (a: Slot, b: Slot) => a.shot === b.shot && Math.abs(a.index - b.index) === 1;

/** `order` without any slot that would follow the one kept before it continuously. */
function withoutContinuations(order: Slot[]): Slot[] {
  const kept: Slot[] = [];
  for (const slot of order) if (kept.length === 0 || !continuous(kept.at(-1)!, slot)) kept.push(slot);
  return kept;
}

/**
 * `count` slots in the order the output plays them. When every other slot is enough,
 * they are spread evenly over the source and play in source order; otherwise every slot
 * plays, the odd ones then the even ones (or the reverse, whichever keeps more), so
 * consecutive shots are two slots apart in the source.
 */
export function chooseSlots(slots: Slot[], count: number): Slot[] {
  if (count <= 0 || slots.length === 0) return [];
  if (count === 1) return [slots[Math.floor((slots.length - 1) / 2)]!];
  if (count <= Math.ceil(slots.length / 2)) {
    const step = (slots.length - 1) / (count - 1);
    return Array.from({ length: count }, (_, i) => slots[Math.round(i * step)]!);
  }
  const odd = slots.filter((_, i) => i % 2 === 1);
  const even = slots.filter((_, i) => i % 2 === 0);
  const oddsFirst = withoutContinuations([...odd, ...even]);
  const evensFirst = withoutContinuations([...even, ...odd]);
  return (oddsFirst.length > evensFirst.length ? oddsFirst : evensFirst).slice(0, count);
}

/** The cut list: the output's shots, each a piece of the source. */
export function planCuts(input: PacingInput): CutList {
  const fps = input.frameRate;
  const perShot = Math.max(1, Math.round(input.shotSeconds * fps));
  const wantedFrames = Math.max(1, Math.round(input.wantedSeconds * fps));
  // A transition takes at most half a shot, so every shot shows on its own for a while.
  const transitionFrames = Math.min(Math.round(input.transitionSeconds * fps), Math.floor(perShot / 2));
  const visible = shotFrames(wantedFrames, perShot);
  const longest = Math.max(...visible) + transitionFrames;
  const chosen = chooseSlots(carveSlots(input, longest / fps), visible.length);
  const shots = visible.slice(0, chosen.length);
  // Each junction's overlap is taken half from the shot before it and half from the one after.
  const head = Math.floor(transitionFrames / 2);
  const tail = transitionFrames - head;
  const pieces = chosen.map((slot, i) => ({
    start: slot.start,
    frames: shots[i]! + (i > 0 ? head : 0) + (i < chosen.length - 1 ? tail : 0),
  }));
  const rendered = shots.reduce((sum, f) => sum + f, 0);
  return { pieces, transitionFrames, wantedSeconds: wantedFrames / fps, renderedSeconds: rendered / fps };
}
