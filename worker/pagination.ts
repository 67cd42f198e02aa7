import { type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { fromBase64Url, toBase64Url } from "./bytes";
import { ApiError } from "./errors";

/**
 * Newest-first lists ordered by (created_at DESC, id DESC) page with an opaque cursor
 * holding the last row's pair, so pages never skip or repeat a row.
 */
export interface Cursor {
  created_at: string;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(cursor)));
}

export function decodeCursor(text: string): Cursor {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(fromBase64Url(text) ?? new Uint8Array()));
    if (typeof parsed?.created_at === "string" && typeof parsed?.id === "string") return parsed;
  } catch {
    // fall through to the error below
  }
  throw new ApiError(400, "validation_error", "cursor is not one this API returned");
}

/**
 * The rows after `cursorText` in (created_at DESC, id DESC) order, as a row-value comparison:
 * SQLite seeks a (…, created_at, id) index to it on both columns.
 */
export function afterCursor(createdAt: SQLWrapper, id: SQLWrapper, cursorText: string): SQL {
  const cursor = decodeCursor(cursorText);
  return sql`(${createdAt}, ${id}) < (${cursor.created_at}, ${cursor.id})`;
}

/** Splits `limit + 1` fetched rows into the page and the cursor for the next one. */
export function pageOf<Row extends { createdAt: string; id: string }>(rows: Row[], limit: number) {
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, has_more: more, next_cursor: more && last ? encodeCursor({ created_at: last.createdAt, id: last.id }) : null };
}
