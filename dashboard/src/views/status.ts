import { h } from "../dom";
import { label } from "../format";

/** A job's, task's or output's status as a badge; the word is the meaning, the colour only a cue. */
export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge status-${status}` }, label(status));
}
