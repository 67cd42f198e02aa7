import { ApiError } from "./errors";

/** Where a newest-first list stopped: the last row's creation time and id. */
export interface Cursor {
  created_at: string;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return btoa(JSON.stringify(cursor)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(text: string): Cursor {
  try {
    const parsed = JSON.parse(atob(text.replaceAll("-", "+").replaceAll("_", "/")));
    if (typeof parsed?.created_at === "string" && typeof parsed?.id === "string") return parsed;
  } catch {
    // fall through to the error below
  }
  throw new ApiError(400, "validation_error", "cursor is not one this API returned");
}
