import type { Writable } from "node:stream";

/**
 * A file's bytes front to back; the source ends soon after `stop` is aborted. A chunk
 * need only stay valid until the next is asked for, so a source may read every chunk
 * into the same buffer.
 */
export type ByteSource = (stop: AbortSignal) => AsyncIterable<Uint8Array>;

/**
 * Writes the bytes into a child's stdin until they end (then closes it: the child sees
 * the end of its input) or the child stops reading (`closed` settles). Then the source
 * is told to stop, and whatever it throws from then on does not matter; before, it is
 * the caller's to handle.
 */
export async function feedStdin(stdin: Writable, bytes: ByteSource, closed: Promise<unknown>): Promise<void> {
  const stop = new AbortController();
  void closed.then(() => stop.abort());
  try {
    for await (const chunk of bytes(stop.signal)) {
      if (stop.signal.aborted) break;
      // Until the pipe has taken the chunk: the next one may be read into the same buffer.
      await Promise.race([new Promise((resolve) => stdin.write(chunk, resolve)), closed]);
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    stdin.end();
  }
}
