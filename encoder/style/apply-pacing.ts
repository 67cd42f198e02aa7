/**
 * Pacing: the cut list that re-cuts a source to a template's rhythm. Pure.
 *
 * The output is `wantedSeconds` long in shots of `shotSeconds` (60 ÷ cut_frequency),
 * on the output's frame grid. Each shot is a piece of the source, and no piece of the
 * source is used twice: the source's own shots are carved into slots one piece long;
 * consecutive output shots come from different source shots whenever the source has
 * them, and are never neighbouring slots of one source shot (that cut would be
 * invisible, the footage simply going on). When the source has fewer usable slots than
 * the rhythm needs, the output is shorter.
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

/**
 * A shot's slots in the order it gives them: in source order, or, for a shot that must
 * give some twice in a row and holds neighbouring slots, the odd ones then the even ones,
 * two slots apart.
 */
function queueOf(slots: Slot[], share: number): Slot[] {
  if (slots.length <= share || !slots.some((slot, i) => i > 0 && continuous(slots[i - 1]!, slot))) return slots;
  return [...slots.filter((_, i) => i % 2 === 1), ...slots.filter((_, i) => i % 2 === 0)];
}

/**
 * `count` slots in the order the output plays them. The slots are spread evenly over
 * the source; then each shot of the output comes from another source shot than the one
 * before it whenever one is left (the one with most slots left, then the earliest), and
 * only when a single source shot remains from the same one, never its neighbouring slot.
 * What cannot follow without a continuation is left out.
 */
export function chooseSlots(slots: Slot[], count: number): Slot[] {
  if (count <= 0 || slots.length === 0) return [];
  const picked =
    count >= slots.length ? slots : count === 1 ? [slots[Math.floor((slots.length - 1) / 2)]!] : Array.from({ length: count }, (_, i) => slots[Math.round((i * (slots.length - 1)) / (count - 1))]!);
  const shots = [...new Set(picked.map((s) => s.shot))];
  const share = Math.ceil(picked.length / 2);
  const queues = new Map(shots.map((shot) => [shot, queueOf(picked.filter((s) => s.shot === shot), share)]));
  const order: Slot[] = [];
  while (order.length < picked.length) {
    const previous = order.at(-1);
    const open = shots.filter((shot) => queues.get(shot)!.length > 0);
    const others = open.filter((shot) => shot !== previous?.shot);
    const from = (others.length > 0 ? others : open).sort((a, b) => queues.get(b)!.length - queues.get(a)!.length || queues.get(a)![0]!.start - queues.get(b)![0]!.start)[0];
    if (from === undefined) break;
    const queue = queues.get(from)!;
    const next = queue.findIndex((slot) => previous === undefined || !continuous(previous, slot));
    if (next < 0) break;
    order.push(...queue.splice(next, 1));
  }
  return order;
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
