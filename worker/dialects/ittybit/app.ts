import { type Context, Hono } from "hono";
import { keyCaller } from "../../auth/caller";
import type { AppEnv } from "../../env";
import { ApiError } from "../../errors";
import { JobService } from "../../jobs/service";
import { authenticate } from "../../middleware/authenticate";
import { bodyLimit } from "../../middleware/body-limit";
import { cors } from "../../middleware/cors";
import { ittybitErrors } from "./errors";
import { ittybitJob } from "./job";
import { listFilters, pageHeaders, parseListQuery } from "./list";
import { nativeRequest } from "./request";

/**
 * Ittybit's jobs API, mounted at /jobs at the root of the origin: Create, List, Get, and
 * Kiln's Cancel, under `Authorization: Bearer <Kiln key>`. A thin translation over the job
 * service; errors answer in Ittybit's `{kind, message}`.
 */
export const ittybit = new Hono<AppEnv>();
ittybit.onError(ittybitErrors);

const MAX_BODY_BYTES = 1024 * 1024;
const jobs = (c: Context<AppEnv>) => new JobService(c.env, keyCaller(c.get("principal")));

// Bodies are read as JSON whatever their declared type: Ittybit's clients and curl examples
// do not all say application/json, and a key in a header is no cookie a form could ride on.
ittybit.use(
  cors({
    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Organization-ID"],
    exposeHeaders: ["X-Request-ID", "Link", "Has-More", "Limit", "Retry-After"],
  }),
  bodyLimit(MAX_BODY_BYTES),
  authenticate(),
);

ittybit.post("/", async (c) => {
  const idempotencyKey = c.req.header("idempotency-key");
  if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 128)) {
    throw new ApiError(400, "validation_error", "Idempotency-Key: 1 to 128 characters");
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new ApiError(400, "invalid_json", "body: not valid JSON");
  }
  const { job, created } = await jobs(c).create(nativeRequest(body), { idempotencyKey, dialect: "ittybit" });
  return c.json(ittybitJob(job), created ? 201 : 200);
});

ittybit.get("/", async (c) => {
  const query = parseListQuery(c.req.query());
  const service = jobs(c);
  const page = await service.list(listFilters(query));
  // The index row is a summary; each entry is the whole job, read as Get reads it.
  const views = await Promise.all(page.data.map((row) => service.get(row.id)));
  const headers = pageHeaders(c.req.url, query, page.data.map((row) => row.id), page.next_cursor !== null);
  return c.json(views.map(ittybitJob), 200, headers);
});

ittybit.get("/:id", async (c) => c.json(ittybitJob(await jobs(c).get(c.req.param("id")))));
ittybit.post("/:id/cancel", async (c) => c.json(ittybitJob(await jobs(c).cancel(c.req.param("id")))));

/** Ittybit's paths; any other method on them is a 405. */
const SERVED = /^\/jobs(?:\/[^/]+(?:\/cancel)?)?$/;

// The root's not-found answer is the native one: every other path under /jobs answers here.
ittybit.all("*", (c) => {
  const error = SERVED.test(c.req.path)
    ? new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}`)
    : new ApiError(404, "not_found", `No route ${c.req.method} ${c.req.path}`);
  // Returned rather than thrown: a thrown not_found is a job the caller cannot see.
  return c.json({ kind: error.code, message: error.message }, error.status);
});
