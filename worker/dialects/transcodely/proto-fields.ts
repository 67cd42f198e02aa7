import { z } from "zod";
import { simplifyEnum } from "./enums";

/*
 * Request fields read as protobuf's JSON reader reads them: a scalar at its zero value
 * ("" or an enum's UNSPECIFIED) is the same as absent, an enum comes simplified
 * (`"s3"`) or by its full name (`"ORIGIN_PROVIDER_S3"`), and an integer may come as a
 * number or as a decimal string.
 */

const unsetWhen = (zero: (value: unknown) => boolean) => (value: unknown) => (zero(value) ? undefined : value);

/** An optional string; "" is unset. */
export const text = () => z.preprocess(unsetWhen((v) => v === ""), z.string().optional());

/** A required string; "" is missing. */
export const requiredText = (field: string) => z.preprocess(unsetWhen((v) => v === ""), z.string({ error: `${field} is required` }));

/** An optional enum field among `values` (simplified names); UNSPECIFIED is unset. */
export const enumField = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (v) => {
      const simple = typeof v === "string" ? simplifyEnum(v) : v;
      return simple === "" || simple === "unspecified" ? undefined : simple;
    },
    z.enum(values, { error: `one of ${values.join(", ")}` }).optional(),
  );

/** An optional 32-bit integer, from a number or a decimal string. */
export const int = () =>
  z.preprocess((v) => (typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v), z.number().int().optional());

/** A message's id field, which every method checks the prefix of before looking. */
export const idField = (prefix: string, what: string) =>
  requiredText("id").pipe(z.string().regex(new RegExp(`^${prefix}_[a-zA-Z0-9_-]+$`), `${what} id (${prefix}_…)`));

/** PaginationRequest: limit 0 is the default (20); Kiln pages by cursor only. */
export const paginationField = () =>
  z
    .object({
      limit: int().pipe(z.number().min(0).max(100, "at most 100").optional()),
      cursor: text().pipe(z.string().max(512).optional()),
      offset: int().pipe(z.number().max(0, "Kiln pages by cursor: pass next_cursor as cursor instead of an offset").optional()),
    })
    .optional()
    .transform((p) => ({ limit: p?.limit || 20, cursor: p?.cursor ?? null }));

/** PaginationResponse: "" when there is no next page; total_count unset (null) as Kiln does not count these lists. */
export const paginationOut = (nextCursor: string | null) => ({ next_cursor: nextCursor ?? "", total_count: null });

/** A Timestamp as protobuf's JSON writer gives it, or null when unset. */
export const timestamp = (iso: string | null) => (iso === null ? null : new Date(iso).toISOString());
