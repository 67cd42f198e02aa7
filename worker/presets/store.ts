import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { presets } from "../db/schema";
import { ApiError } from "../errors";
import { builtInPresets } from "../jobs/presets";
import { afterCursor, pageOf } from "../pagination";

export type PresetRow = typeof presets.$inferSelect;

/** `pst_` and the 20 symbols newId makes. */
export const PRESET_ID = /^pst_[a-z0-9]{1,40}$/;

const orm = (db: D1Database) => drizzle(db);

/** A built-in preset's slug; own keys only, so "constructor" or "__proto__" are not presets. */
export function isBuiltInSlug(slug: string): slug is keyof typeof builtInPresets {
  return Object.hasOwn(builtInPresets, slug);
}

/** Inserts the preset; false when the organization already has one with its slug. */
export async function insertPreset(db: D1Database, row: PresetRow): Promise<boolean> {
  const inserted = await orm(db).insert(presets).values(row).onConflictDoNothing({ target: [presets.orgId, presets.slug] }).returning({ id: presets.id });
  return inserted.length === 1;
}

/** The organization's preset by `pst_…` id or by slug, or null (another org's preset is as absent as a missing one). */
export async function findOrgPreset(db: D1Database, orgId: string, ref: string): Promise<PresetRow | null> {
  const match = PRESET_ID.test(ref) ? eq(presets.id, ref) : eq(presets.slug, ref);
  const rows = await orm(db).select().from(presets).where(and(match, eq(presets.orgId, orgId))).limit(1);
  return rows[0] ?? null;
}

export async function deletePreset(db: D1Database, row: PresetRow): Promise<void> {
  await orm(db).delete(presets).where(and(eq(presets.id, row.id), eq(presets.orgId, row.orgId)));
}

export function presetNotFound(ref: string): ApiError {
  return new ApiError(404, "not_found", `No preset ${ref}`);
}

/** The API view of an organization's preset. */
export function presetView(row: PresetRow) {
  return {
    id: row.id as string | null,
    object: "preset" as const,
    slug: row.slug,
    name: row.name,
    description: row.description,
    builtin: false,
    output: row.output,
    created_at: row.createdAt as string | null,
  };
}
export type PresetView = ReturnType<typeof presetView>;

/** A built-in preset in the same shape; it has no id and no creation time. */
export function builtInView(slug: keyof typeof builtInPresets): PresetView {
  return { id: null, object: "preset", slug, name: slug, description: null, builtin: true, output: builtInPresets[slug]!, created_at: null };
}

/** What a list may narrow presets to, read from each preset's output (its first variant for codec and quality). */
export interface PresetFilters {
  types?: readonly string[];
  videoCodec?: string;
  quality?: string;
}

/** Newest first, ties broken by id. */
export async function listOrgPresets(db: D1Database, query: { orgId: string; limit: number; cursor: string | null } & PresetFilters) {
  const filters = [eq(presets.orgId, query.orgId)];
  if (query.types !== undefined) filters.push(inArray(sql`json_extract(${presets.output}, '$.type')`, [...query.types]));
  if (query.videoCodec !== undefined) filters.push(eq(sql`json_extract(${presets.output}, '$.video[0].codec')`, query.videoCodec));
  if (query.quality !== undefined) filters.push(eq(sql`json_extract(${presets.output}, '$.video[0].quality')`, query.quality));
  if (query.cursor !== null) filters.push(afterCursor(presets.createdAt, presets.id, query.cursor));
  const rows = await orm(db)
    .select()
    .from(presets)
    .where(and(...filters))
    .orderBy(desc(presets.createdAt), desc(presets.id))
    .limit(query.limit + 1);
  const { page, has_more, next_cursor } = pageOf(rows, query.limit);
  return { object: "list" as const, data: page.map(presetView), has_more, next_cursor };
}
