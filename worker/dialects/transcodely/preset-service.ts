import type { Context } from "hono";
import { z } from "zod";
import type { OutputSpec } from "../../api/schemas/outputs";
import type { AppEnv } from "../../env";
import { ApiError } from "../../errors";
import { builtInPresets } from "../../jobs/presets";
import { authorize } from "../../middleware/authenticate";
import { createPreset } from "../../presets/create";
import {
  type PresetFilters,
  type PresetView,
  builtInView,
  deletePreset,
  findOrgPreset,
  isBuiltInSlug,
  listOrgPresets,
  presetNotFound,
  presetView,
} from "../../presets/store";
import { transcodelyPreset } from "./preset";
import { createPresetRequest, nativePreset } from "./preset-request";
import { enumField, idField, paginationField, paginationOut, requiredText, text } from "./proto-fields";
import { connectService } from "./app";
import { unary, unoffered } from "./unary";

/*
 * transcodely.v1.PresetService over Kiln's presets (worker/presets): an organization's
 * presets are its own (`pst_…`), Kiln's built-in presets are Transcodely's system presets
 * (reachable by slug; they have no id). A job's output names either by id or slug.
 */

const slugField = (field: string) => requiredText(field).pipe(z.string().regex(/^[a-z0-9_]{3,64}$/, "3–64 lowercase letters, digits and underscores"));

const idRequest = z.object({ id: idField("pst", "a preset") });

const listRequest = z.object({
  include_system: z.boolean().optional(),
  content_type: enumField(["film", "animation", "grain", "gaming", "sports", "stillimage"]),
  quality_tier: enumField(["economy", "standard", "premium"]),
  video_codec: enumField(["h264", "h265", "vp9", "av1"]),
  delivery_format: enumField(["progressive", "hls", "dash", "cmaf"]),
  pagination: paginationField(),
  app_id: text(),
});

const duplicateRequest = z.object({
  source_id: idField("pst", "a preset"),
  slug: slugField("slug"),
  name: requiredText("name").pipe(z.string().trim().min(1).max(100, "at most 100 characters")),
});

/** The output types a delivery format stands for. */
const TYPES_BY_DELIVERY = { progressive: ["mp4", "webm", "mkv", "mov"], hls: ["hls"], dash: ["dash"], cmaf: ["adaptive"] } as const;

/** Built-in presets stand after the organization's; a cursor into them carries this prefix and an index. */
const BUILTIN_CURSOR = "builtin:";

async function ownPreset(c: Context<AppEnv>, id: string) {
  const row = await findOrgPreset(c.env.DB, c.get("principal").orgId, id);
  if (!row) throw presetNotFound(id);
  return row;
}

function builtInMatches(filters: PresetFilters): PresetView[] {
  return Object.keys(builtInPresets)
    .filter(isBuiltInSlug)
    .map(builtInView)
    .filter((preset) => {
      const output = preset.output as OutputSpec;
      const first = output.video?.[0];
      return (
        (filters.types === undefined || filters.types.includes(output.type ?? "")) &&
        (filters.videoCodec === undefined || first?.codec === filters.videoCodec) &&
        (filters.quality === undefined || first?.quality === filters.quality)
      );
    });
}

/**
 * The organization's presets newest first, then (with include_system, the default) the
 * built-in ones, `limit` at a time. A page that ends inside the built-ins gets a cursor
 * naming the next one's index.
 */
async function listPage(c: Context<AppEnv>, request: z.infer<typeof listRequest>) {
  const { limit, cursor } = request.pagination;
  const filters: PresetFilters = {
    types: request.delivery_format ? TYPES_BY_DELIVERY[request.delivery_format] : undefined,
    videoCodec: request.video_codec,
    quality: request.quality_tier,
  };
  let presets: PresetView[] = [];
  let builtInStart = 0;
  if (cursor?.startsWith(BUILTIN_CURSOR)) {
    builtInStart = Number(cursor.slice(BUILTIN_CURSOR.length));
    if (!Number.isInteger(builtInStart) || builtInStart < 0) throw new ApiError(400, "validation_error", "cursor is not one this API returned");
  } else {
    const page = await listOrgPresets(c.env.DB, { orgId: c.get("principal").orgId, limit, cursor, ...filters });
    if (page.next_cursor !== null) return { presets: page.data, next: page.next_cursor };
    presets = page.data;
  }
  if (request.include_system === false) return { presets, next: null };
  const builtIns = builtInMatches(filters).slice(builtInStart);
  const room = limit - presets.length;
  return { presets: [...presets, ...builtIns.slice(0, room)], next: builtIns.length > room ? `${BUILTIN_CURSOR}${builtInStart + room}` : null };
}

export const transcodelyPresetService = connectService({
  Create: unary(createPresetRequest, async (c, request) => {
    authorize(c, "presets:create", "presets/*");
    const row = await createPreset(c.env.DB, c.get("principal").orgId, nativePreset(request));
    return { preset: transcodelyPreset(presetView(row)) };
  }),
  Get: unary(idRequest, async (c, { id }) => {
    authorize(c, "presets:get", `presets/${id}`);
    return { preset: transcodelyPreset(presetView(await ownPreset(c, id))) };
  }),
  GetBySlug: unary(z.object({ slug: requiredText("slug").pipe(z.string().max(64)) }), async (c, { slug }) => {
    authorize(c, "presets:get", `presets/${slug}`);
    // A slug never looks like an id (pst_…), so this finds by slug only.
    const row = slug.startsWith("pst_") ? null : await findOrgPreset(c.env.DB, c.get("principal").orgId, slug);
    if (row) return { preset: transcodelyPreset(presetView(row)) };
    if (isBuiltInSlug(slug)) return { preset: transcodelyPreset(builtInView(slug)) };
    throw presetNotFound(slug);
  }),
  List: unary(listRequest, async (c, request) => {
    authorize(c, "presets:list", "presets/*");
    // Kiln's presets carry no content type, so none matches a filter on one.
    if (request.content_type !== undefined) return { presets: [], pagination: paginationOut(null) };
    const { presets, next } = await listPage(c, request);
    return { presets: presets.map(transcodelyPreset), pagination: paginationOut(next) };
  }),
  Duplicate: unary(duplicateRequest, async (c, request) => {
    authorize(c, "presets:get", `presets/${request.source_id}`);
    authorize(c, "presets:create", "presets/*");
    const source = await ownPreset(c, request.source_id);
    const copy = presetCopy(source.output as OutputSpec, source.description, request);
    const row = await createPreset(c.env.DB, c.get("principal").orgId, copy);
    return { preset: transcodelyPreset(presetView(row)) };
  }),
  Archive: unary(idRequest, async (c, { id }) => {
    authorize(c, "presets:delete", `presets/${id}`);
    const row = await ownPreset(c, id);
    await deletePreset(c.env.DB, row);
    return { preset: transcodelyPreset(presetView(row)) };
  }),
  Update: unoffered("Kiln presets do not change once created: Duplicate or Create a new one (jobs name presets by slug or id)"),
});

/** A copy under a new slug; a built-in preset's slug is refused as on Create. */
function presetCopy(output: OutputSpec, description: string | null, request: z.infer<typeof duplicateRequest>) {
  if (isBuiltInSlug(request.slug)) {
    throw new ApiError(400, "validation_error", `slug: ${request.slug} is a built-in preset's slug`, { target: "json", issues: [{ path: "slug", message: `${request.slug} is a built-in preset's slug` }] });
  }
  return { slug: request.slug, name: request.name, description: description ?? undefined, output };
}
