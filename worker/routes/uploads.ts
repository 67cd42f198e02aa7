import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { inputMetadataSchema } from "../../encoder/contract";
import type { AppEnv } from "../env";
import { bearerSecurity, errorResponses, pageQuery, pageResponse } from "./openapi-shared";
import { validationFailure } from "../errors";
import { newId } from "../ids";
import { authorize } from "../middleware/authenticate";
import { signStorageUrl } from "../storage/signed-urls";
import {
  DEFAULT_MAX_BYTES,
  MAX_UPLOAD_BYTES,
  MEDIA_TYPE,
  UPLOAD_TTL_SECONDS,
  deleteUpload,
  filenameProblem,
  findUpload,
  insertUpload,
  listUploads,
  refreshUpload,
  uploadNotFound,
  uploadObjectKey,
  uploadView,
} from "../uploads/store";

const uploadStatuses = ["waiting", "uploading", "ready", "expired", "deleted"] as const;

export const uploadSchema = z
  .object({
    id: z.string().openapi({ example: "vid_a1b2c3d4e5f6g7h8j9k0" }),
    object: z.literal("upload"),
    protocol: z.enum(["put", "tus"]),
    status: z.enum(uploadStatuses),
    filename: z.string().nullable(),
    content_type: z.string(),
    size_bytes: z.number().int().nullable().openapi({ description: "Known once ready" }),
    max_bytes: z.number().int().nullable().openapi({ description: "put: the size limit; tus: the declared Upload-Length" }),
    bytes_received: z.number().int().nullable(),
    etag: z.string().nullable(),
    probe: z
      .object({
        status: z.enum(["pending", "completed", "failed"]),
        metadata: inputMetadataSchema.nullable().openapi({ description: "The media facts ffprobe found: duration, size, codecs, frame rate, rotation" }),
        error: z.object({ code: z.string(), message: z.string() }).nullable().openapi({ description: "Why the file is not usable media, e.g. input_unreadable" }),
        probed_at: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: "The encoder probes every upload once it is ready; null before" }),
    upload_url: z.string().optional().openapi({ description: "Creation only: PUT the file here, with the declared Content-Type" }),
    expires_at: z.string().openapi({ description: "An unfinished upload expires then" }),
    created_at: z.string(),
    updated_at: z.string(),
    completed_at: z.string().nullable(),
    deleted_at: z.string().nullable(),
  })
  .openapi("Upload");

const createUploadBody = z
  .strictObject({
    filename: z
      .string()
      .min(1)
      .max(200)
      .superRefine((name, ctx) => {
        const problem = filenameProblem(name);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional()
      .openapi({ example: "holiday.mov", description: "The object's name in storage (one path segment)" }),
    content_type: z
      .string()
      .max(255)
      .transform((t) => t.trim().toLowerCase())
      .pipe(z.string().regex(MEDIA_TYPE, "a media type such as video/mp4 (video/, audio/, image/ or application/)"))
      .openapi({ example: "video/mp4", description: "The PUT must declare exactly this Content-Type" }),
    max_bytes: z
      .number()
      .int()
      .min(1)
      .max(MAX_UPLOAD_BYTES)
      .default(DEFAULT_MAX_BYTES)
      .openapi({ description: "The largest file the upload URL accepts (≤ 50 GiB; default 5 GiB)" }),
  })
  .openapi("CreateUploadRequest");

const idParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "vid_a1b2c3d4e5f6g7h8j9k0" }) });

const createUpload = createRoute({
  method: "post",
  path: "/uploads",
  summary: "Create a direct upload: a signed, size-capped PUT URL",
  description:
    "PUT the file to `upload_url` with the declared Content-Type. The upload becomes `ready` once the object is stored; its id (`vid_…`) is then a valid job `input`. Large files: use tus at /v1/uploads/tus.",
  security: bearerSecurity,
  request: { body: { required: true, content: { "application/json": { schema: createUploadBody } } } },
  responses: { 201: { description: "The upload and its PUT URL", content: { "application/json": { schema: uploadSchema } } }, ...errorResponses(400, 401, 403, 413, 415) },
});

const getUpload = createRoute({
  method: "get",
  path: "/uploads/{id}",
  summary: "Retrieve an upload",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: { description: "The upload", content: { "application/json": { schema: uploadSchema } } }, ...errorResponses(401, 403, 404) },
});

const listUploadsRoute = createRoute({
  method: "get",
  path: "/uploads",
  summary: "List uploads, newest first",
  security: bearerSecurity,
  request: {
    query: z.object({
      status: z.enum(uploadStatuses).optional().openapi({ description: "Only this status; deleted uploads are listed only when asked for" }),
      ...pageQuery,
    }),
  },
  responses: {
    200: pageResponse(uploadSchema, "UploadList", "A page of uploads"),
    ...errorResponses(400, 401, 403),
  },
});

const deleteUploadRoute = createRoute({
  method: "delete",
  path: "/uploads/{id}",
  summary: "Delete an upload and its stored object",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: { description: "The upload, deleted", content: { "application/json": { schema: uploadSchema } } }, ...errorResponses(401, 403, 404) },
});

export const uploadRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  .openapi(createUpload, async (c) => {
    authorize(c, "uploads:create", "uploads/*");
    const body = c.req.valid("json");
    const orgId = c.get("principal").orgId;
    const id = newId("vid");
    const key = uploadObjectKey(orgId, id, body.filename ?? null);
    const now = Date.now();
    const uploadUrl = await signStorageUrl(
      c.env,
      { method: "PUT", key, expiresInSeconds: UPLOAD_TTL_SECONDS, maxBytes: body.max_bytes, contentType: body.content_type },
      publicBase(c),
      now,
    );
    const at = new Date(now).toISOString();
    const row = {
      id,
      orgId,
      protocol: "put" as const,
      status: "waiting" as const,
      filename: body.filename ?? null,
      contentType: body.content_type,
      key,
      maxBytes: body.max_bytes,
      createdAt: at,
      updatedAt: at,
      expiresAt: new Date(now + UPLOAD_TTL_SECONDS * 1000).toISOString(),
    };
    await insertUpload(c.env.DB, row);
    const stored = (await findUpload(c.env.DB, orgId, id))!;
    return c.json(uploadView(stored, { upload_url: uploadUrl }), 201);
  })
  .openapi(listUploadsRoute, async (c) => {
    authorize(c, "uploads:list", "uploads/*");
    const query = c.req.valid("query");
    const page = await listUploads(c.env.DB, { orgId: c.get("principal").orgId, status: query.status ?? null, limit: query.limit, cursor: query.cursor ?? null });
    return c.json(page, 200);
  })
  .openapi(getUpload, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "uploads:get", `uploads/${id}`);
    const row = await findUpload(c.env.DB, c.get("principal").orgId, id);
    if (!row) throw uploadNotFound(id);
    return c.json(uploadView(await refreshUpload(c.env, row)), 200);
  })
  .openapi(deleteUploadRoute, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "uploads:delete", `uploads/${id}`);
    const row = await findUpload(c.env.DB, c.get("principal").orgId, id);
    if (!row || row.status === "deleted") throw uploadNotFound(id);
    return c.json(uploadView(await deleteUpload(c.env, row)), 200);
  });

/**
 * The origin signed upload URLs point at: the request's own, so a client reaches the
 * /storage route of the Worker it is talking to (PUBLIC_URL is the encoder's view).
 */
function publicBase(c: Context<AppEnv>): string {
  return new URL(c.req.url).origin;
}
