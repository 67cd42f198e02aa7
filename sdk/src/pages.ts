/** A page of a newest-first list: its items and the cursor of the next page (null on the last). */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Every page, following each page's `next_cursor` from `cursor` (or the first page) until the last. */
export async function* pages<P extends Page<unknown>>(fetchPage: (cursor: string | undefined) => Promise<P>, cursor?: string): AsyncGenerator<P, void, undefined> {
  let next = cursor;
  for (;;) {
    const page = await fetchPage(next);
    yield page;
    if (page.next_cursor === null) return;
    next = page.next_cursor;
  }
}

/** Every item of every page, in order: `for await (const job of kiln.jobs.list())`. */
export async function* items<T>(source: AsyncIterable<Page<T>>): AsyncGenerator<T, void, undefined> {
  for await (const page of source) yield* page.data;
}
