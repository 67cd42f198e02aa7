/** A command line the CLI cannot run (unknown command or flag, a missing or malformed value): exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
