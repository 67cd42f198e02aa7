/** Ctrl-C: the command stops, with exit 130 as a shell's would; what was under way is said first. */
export class Interrupted extends Error {
  override readonly name = "Interrupted";

  constructor() {
    super("interrupted");
  }
}
