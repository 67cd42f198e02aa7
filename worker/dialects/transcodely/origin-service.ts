import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../env";
import { authorize } from "../../middleware/authenticate";
import { recheckOrigin } from "../../origins/check";
import { createOrigin, type NewOrigin } from "../../origins/create";
import { GCS_ENDPOINT } from "../../origins/s3";
import { type OriginProvider, deleteOrigin, findOrigin, listOrigins, originNotFound, originPermissionValues, originView } from "../../origins/store";
import { bucketProblem, endpointShapeProblem, normalizeOriginPath, originPathProblem } from "../../origins/validation";
import { credentialsBody, regionBody } from "../../routes/origins";
import { r2AccountEndpoint, transcodelyOrigin, validationResult } from "./origin";
import { enumField, idField, paginationField, paginationOut, requiredText, text } from "./proto-fields";
import { connectService } from "./app";
import { unary, unoffered } from "./unary";

/*
 * transcodely.v1.OriginService over Kiln's origins (worker/origins): the same access
 * checks, encrypted credentials and store as POST /v1/origins, so an origin made here is
 * an ordinary Kiln origin a /v1 job can name, and the other way round.
 */

const endpointField = text().pipe(
  z
    .string()
    .max(2048)
    .superRefine((endpoint, ctx) => {
      const problem = endpointShapeProblem(endpoint);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
);

const s3Config = z.object({
  bucket: requiredText("bucket"),
  region: requiredText("region").pipe(regionBody.unwrap()),
  credentials: credentialsBody,
  endpoint: endpointField,
});

const r2Config = z.object({
  bucket: requiredText("bucket"),
  credentials: credentialsBody,
  account_id: text().pipe(z.string().regex(/^[a-f0-9]{32}$/, "a Cloudflare account id: 32 lowercase hex digits").optional()),
  jurisdiction: enumField(["default", "eu", "fedramp"]),
  endpoint: endpointField,
});

const createRequest = z
  .object({
    name: requiredText("name").pipe(z.string().trim().min(1).max(100, "at most 100 characters")),
    description: text().pipe(z.undefined({ error: "Kiln keeps no description for an origin; leave it empty" })),
    permissions: z
      .array(enumField(originPermissionValues).pipe(z.enum(originPermissionValues, { error: "read or write" })))
      .min(1, "at least one permission: read, write")
      // Two values that must not repeat: at most two, without a length check that would hide which one is wrong.
      .refine((p) => new Set(p).size === p.length, "permissions must not repeat"),
    base_path: text().pipe(z.string().max(512).optional()),
    path_template: text().pipe(
      z.undefined({ error: "Kiln keeps no path template on an origin; give output_path_template (or an output's path_template) on the job" }),
    ),
    gcs: z.unknown().optional(),
    s3: s3Config.optional(),
    http: z.unknown().optional(),
    r2: r2Config.optional(),
    app_id: text(),
  })
  // Runs even when fields failed, so every violation is reported at once; it reads only what parsed.
  .superRefine(
    (request, ctx) => {
      const given = (["gcs", "s3", "http", "r2"] as const).filter((config) => request[config] !== undefined);
      if (given.length !== 1) {
        ctx.addIssue({ code: "custom", path: [], message: "exactly one provider config must be set: s3 or r2" });
      }
      if (request.gcs !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["gcs"],
          message: `Kiln reaches Google Cloud Storage through its S3-compatible API with an HMAC key, not a service account: set s3 with endpoint ${GCS_ENDPOINT}, region auto and the HMAC key as credentials`,
        });
      }
      if (request.http !== undefined) {
        ctx.addIssue({ code: "custom", path: ["http"], message: "Kiln has no HTTP origins: give the https URL as the job's input_url" });
      }
      const s3 = request.s3;
      if (typeof s3?.bucket === "string") {
        const problem = bucketProblem(providerOf(s3.endpoint), s3.bucket);
        if (problem) ctx.addIssue({ code: "custom", path: ["s3", "bucket"], message: problem });
      }
      const r2 = request.r2;
      if (r2) {
        const problem = typeof r2.bucket === "string" ? bucketProblem("r2", r2.bucket) : null;
        if (problem) ctx.addIssue({ code: "custom", path: ["r2", "bucket"], message: problem });
        if ((r2.account_id === undefined) === (r2.endpoint === undefined)) {
          ctx.addIssue({ code: "custom", path: ["r2"], message: "exactly one of account_id or endpoint must be set" });
        }
        if (r2.jurisdiction !== undefined && r2.account_id === undefined) {
          ctx.addIssue({ code: "custom", path: ["r2", "jurisdiction"], message: "jurisdiction is only valid when account_id is set" });
        }
      }
      const path = typeof request.base_path === "string" ? normalizeOriginPath(request.base_path) : null;
      const pathProblem = path === null ? null : originPathProblem(path);
      if (pathProblem) ctx.addIssue({ code: "custom", path: ["base_path"], message: pathProblem.replace(/^path/, "base_path") });
    },
    { when: () => true },
  );

/** Kiln's gcs provider is Google's S3-compatible endpoint, so an s3 config pointing there is a gcs origin. */
function providerOf(endpoint: unknown): OriginProvider {
  return typeof endpoint === "string" && endpointShapeProblem(endpoint) === null && new URL(endpoint).origin === GCS_ENDPOINT ? "gcs" : "s3";
}

function nativeOrigin(request: z.infer<typeof createRequest>): NewOrigin {
  const common = { name: request.name, path: request.base_path, permissions: request.permissions };
  if (request.r2) {
    const { bucket, credentials, account_id, jurisdiction, endpoint } = request.r2;
    return { ...common, provider: "r2", bucket, credentials, endpoint: account_id !== undefined ? r2AccountEndpoint(account_id, jurisdiction) : endpoint };
  }
  const { bucket, region, credentials, endpoint } = request.s3!;
  const provider = providerOf(endpoint);
  return { ...common, provider, bucket, region, credentials, endpoint: provider === "gcs" ? undefined : endpoint };
}

const idRequest = z.object({ id: idField("ori", "an origin") });

const listRequest = z.object({
  provider: enumField(["gcs", "s3", "http", "transcodely", "r2"]),
  status: enumField(["active", "failed", "archived"]),
  permission: enumField(originPermissionValues),
  include_archived: z.boolean().optional(),
  pagination: paginationField(),
  app_id: text(),
});

async function ownOrigin(c: Context<AppEnv>, id: string) {
  const row = await findOrigin(c.env.DB, c.get("principal").orgId, id);
  if (!row) throw originNotFound(id);
  return row;
}

export const transcodelyOriginService = connectService({
  Create: unary(createRequest, async (c, request) => {
    authorize(c, "origins:create", "origins/*");
    const row = await createOrigin(c.env, c.get("requestId"), c.get("principal").orgId, nativeOrigin(request));
    // Kiln stores an origin only once every declared permission was proved, so its validation passed.
    const proved = Object.fromEntries(request.permissions.map((permission) => [permission, null]));
    return { origin: transcodelyOrigin(originView(row)), validation: validationResult(proved, new Date(row.createdAt)) };
  }),
  Get: unary(idRequest, async (c, { id }) => {
    authorize(c, "origins:get", `origins/${id}`);
    return { origin: transcodelyOrigin(originView(await ownOrigin(c, id))) };
  }),
  List: unary(listRequest, async (c, request) => {
    authorize(c, "origins:list", "origins/*");
    // Kiln has only active origins (archived ones are deleted) and none of Transcodely's http or managed kinds.
    const provider = request.provider;
    if ((request.status !== undefined && request.status !== "active") || provider === "http" || provider === "transcodely") {
      return { origins: [], pagination: paginationOut(null) };
    }
    const page = await listOrigins(c.env.DB, {
      orgId: c.get("principal").orgId,
      limit: request.pagination.limit,
      cursor: request.pagination.cursor,
      provider,
      permission: request.permission,
    });
    return { origins: page.data.map(transcodelyOrigin), pagination: paginationOut(page.next_cursor) };
  }),
  Validate: unary(idRequest, async (c, { id }) => {
    authorize(c, "origins:get", `origins/${id}`);
    const row = await ownOrigin(c, id);
    const at = new Date();
    return { origin: transcodelyOrigin(originView(row)), validation: validationResult(await recheckOrigin(c.env, row), at) };
  }),
  Archive: unary(idRequest, async (c, { id }) => {
    authorize(c, "origins:delete", `origins/${id}`);
    const row = await ownOrigin(c, id);
    await deleteOrigin(c.env.DB, row);
    const archivedAt = new Date().toISOString();
    return { origin: { ...transcodelyOrigin(originView(row)), status: "archived", updated_at: archivedAt, archived_at: archivedAt } };
  }),
  Update: unoffered("Kiln origins do not change once connected: Archive this one and Create another"),
});
