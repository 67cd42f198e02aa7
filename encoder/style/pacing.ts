import type { Transition } from "./style-json";
import type { DetectedTransition, TransitionType } from "./transitions";
import type { Easing } from "./easing";

/**
 * The editing rhythm and the transitions a video uses, from its detected scene changes.
 * Pure.
 */

/** Shot lengths, seconds: from the start to the first change, between changes, and from the last change to the end. */
export function shotLengths(changeTimesS: number[], durationS: number): number[] {
  const bounds = [0, ...changeTimesS, durationS];
  const lengths: number[] = [];
  for (let i = 1; i < bounds.length; i++) lengths.push(Math.max(0, bounds[i]! - bounds[i - 1]!));
  return lengths;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Cuts per minute: 60 ÷ the median shot length, so a clip cut every 2 s reads 30 whatever
 * its length and however its first and last shots are trimmed; 0 for a single shot. Every
 * change of scene counts, whatever its transition.
 */
export function cutFrequencyOf(changeTimesS: number[], durationS: number): number {
  if (changeTimesS.length === 0 || !(durationS > 0)) return 0;
  const shot = median(shotLengths(changeTimesS, durationS));
  return shot > 0 ? Math.round((60 / shot) * 10) / 10 : 0;
}

/** Ties are broken in this order, so the same changes always give the same answer. */
const typeOrder: TransitionType[] = ["cut", "fade", "dissolve"];
const easingOrder: Easing[] = ["linear", "ease-in-out", "ease-in", "ease-out"];

function mostCommon<T>(values: T[], order: T[]): T {
  return order.reduce((best, v) => (values.filter((x) => x === v).length > values.filter((x) => x === best).length ? v : best), order[0]!);
}

/** One type's transition as StyleJSON has it: its median duration and its most common easing. */
function summarise(type: TransitionType, changes: DetectedTransition[]): Transition {
  const ofType = changes.filter((c) => c.type === type);
  return { type, duration_ms: Math.round(median(ofType.map((c) => c.durationMs))), easing: mostCommon(ofType.map((c) => c.easing), easingOrder) };
}

/**
 * The most used transition type and the next one (null when only one type occurs). A video
 * without any change is one shot: its primary transition is reported as a 0 ms cut, which
 * applying changes nothing; the low confidence of a shotless rhythm says how little it means.
 */
export function transitionsOf(changes: DetectedTransition[]): { primary: Transition; secondary: Transition | null } {
  if (changes.length === 0) return { primary: { type: "cut", duration_ms: 0, easing: "linear" }, secondary: null };
  const count = (t: TransitionType) => changes.filter((c) => c.type === t).length;
  const ranked = typeOrder.filter((t) => count(t) > 0).sort((a, b) => count(b) - count(a) || typeOrder.indexOf(a) - typeOrder.indexOf(b));
  return { primary: summarise(ranked[0]!, changes), secondary: ranked[1] ? summarise(ranked[1], changes) : null };
}
