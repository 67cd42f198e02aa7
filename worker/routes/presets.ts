import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { ApiError, validationFailure } from "../errors";
import { builtInPresets } from "../jobs/presets";
import { outputSpecSchema } from "../api/schemas/outputs";
import { authorize } from "../middleware/authenticate";
import { checkPreset, createPreset as createPresetRow } from "../presets/create";
import {
  PRESET_ID,
  builtInView,
  deletePreset,
  findOrgPreset,
  isBuiltInSlug,
  listOrgPresets,
  presetNotFound,
  presetView,
} from "../presets/store";
import { bearerSecurity, errorResponses, pageQuery, pageResponse } from "./openapi-shared";

export const presetSchema = z
  .object({
    id: z.string().nullable().openapi({ example: "pst_a1b2c3d4e5f6g7h8j9k0", description: "null for a built-in preset" }),
    object: z.literal("preset"),
    slug: z.string().openapi({ example: "web_720p_fast" }),
    name: z.string(),
    description: z.string().nullable(),
    builtin: z.boolean(),
    output: z.record(z.string(), z.unknown()).openapi({ description: "The output spec an output naming this preset starts from" }),
    created_at: z.string().nullable(),
  })
  .openapi("Preset");

const slug = z
  .string()
  .regex(/^[a-z0-9_]{1,64}$/, "1–64 lowercase letters, digits and underscores")
  .refine((s) => !s.startsWith("pst_"), "a slug must not look like a preset id (pst_…)");

const createPresetBody = z
  .strictObject({
    slug: slug.openapi({ example: "web_720p_fast", description: "Unique in the organization; an output names the preset by it or by its id" }),
    name: z.string().trim().min(1).max(100).optional().openapi({ description: "Default: the slug" }),
    description: z.string().trim().min(1).max(500).optional(),
    output: outputSpecSchema.openapi({ description: "An output spec, checked like a job's output; it cannot name another preset" }),
  })
  .superRefine(checkPreset)
  .openapi("CreatePresetRequest");

const idParams = z.object({
  id: z.string().max(128).openapi({ param: { name: "id", in: "path" }, example: "pst_a1b2c3d4e5f6g7h8j9k0", description: "A preset id, or a slug (the organization's or a built-in)" }),
});
const presetResponse = (description: string) => ({ description, content: { "application/json": { schema: presetSchema } } });

const createPreset = createRoute({
  method: "post",
  path: "/presets",
  summary: "Create an output preset for the organization",
  security: bearerSecurity,
  request: { body: { required: true, content: { "application/json": { schema: createPresetBody } } } },
  responses: { 201: presetResponse("The preset"), ...errorResponses(400, 401, 403, 409) },
});

const listPresetsRoute = createRoute({
  method: "get",
  path: "/presets",
  summary: "List the organization's presets (newest first), or the built-in ones",
  security: bearerSecurity,
  request: {
    query: z.object({
      scope: z.enum(["org", "builtin"]).default("org").openapi({ description: "org: the organization's presets, paged; builtin: every built-in preset" }),
      ...pageQuery,
    }),
  },
  responses: {
    200: pageResponse(presetSchema, "PresetList", "A page of presets"),
    ...errorResponses(400, 401, 403),
  },
});

const getPreset = createRoute({
  method: "get",
  path: "/presets/{id}",
  summary: "Retrieve a preset by id or slug",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: presetResponse("The preset"), ...errorResponses(401, 403, 404) },
});

const deletePresetRoute = createRoute({
  method: "delete",
  path: "/presets/{id}",
  summary: "Delete one of the organization's presets; jobs created with it keep their merged outputs",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: presetResponse("The preset, deleted"), ...errorResponses(400, 401, 403, 404) },
});

export const presetRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  .openapi(createPreset, async (c) => {
    authorize(c, "presets:create", "presets/*");
    const row = await createPresetRow(c.env.DB, c.get("principal").orgId, c.req.valid("json"));
    return c.json(presetView(row), 201);
  })
  .openapi(listPresetsRoute, async (c) => {
    authorize(c, "presets:list", "presets/*");
    const query = c.req.valid("query");
    if (query.scope === "builtin") {
      const data = (Object.keys(builtInPresets) as (keyof typeof builtInPresets)[]).map(builtInView);
      return c.json({ object: "list" as const, data, has_more: false, next_cursor: null }, 200);
    }
    return c.json(await listOrgPresets(c.env.DB, { orgId: c.get("principal").orgId, limit: query.limit, cursor: query.cursor ?? null }), 200);
  })
  .openapi(getPreset, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "presets:get", `presets/${id}`);
    const row = await findOrgPreset(c.env.DB, c.get("principal").orgId, id);
    if (row) return c.json(presetView(row), 200);
    if (!PRESET_ID.test(id) && isBuiltInSlug(id)) return c.json(builtInView(id), 200);
    throw presetNotFound(id);
  })
  .openapi(deletePresetRoute, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "presets:delete", `presets/${id}`);
    const row = await findOrgPreset(c.env.DB, c.get("principal").orgId, id);
    if (!row) {
      if (isBuiltInSlug(id)) throw new ApiError(400, "validation_error", `${id} is a built-in preset; only the organization's own presets can be deleted`);
      throw presetNotFound(id);
    }
    await deletePreset(c.env.DB, row);
    return c.json(presetView(row), 200);
  });
