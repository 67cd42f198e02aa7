import type { Context } from "hono";
import { keyCaller } from "../../auth/caller";
import type { AppEnv } from "../../env";
import type { JobView } from "../../jobs/job-state";
import { jobStatuses } from "../../jobs/model";
import { JobService } from "../../jobs/service";
import { findOrigin } from "../../origins/store";
import { connectService, CONNECT_STREAMING, isConnectStreaming, toConnectError } from "./app";
import { type FieldViolation, invalidArgument } from "./connect";
import { type OriginFacts, transcodelyJob } from "./job";
import { type Message, jobIdOf, readMessage } from "./message";
import { createJobRequest, formatPath } from "./request";
import { watchStream } from "./watch";

type Ctx = Context<AppEnv>;

const jobsFor = (c: Ctx) => new JobService(c.env, keyCaller(c.get("principal")));

/** The job's origins as OriginRef shows them (name, provider, bucket), from the caller's organization. */
async function originsOf(c: Ctx, view: JobView): Promise<Map<string, OriginFacts>> {
  const ids = [view.input_origin_id, view.output_origin_id].filter((id): id is string => id !== null);
  const rows = await Promise.all([...new Set(ids)].map((id) => findOrigin(c.env.DB, c.get("principal").orgId, id)));
  return new Map(rows.flatMap((row) => (row ? [[row.id, { name: row.name, provider: row.provider, bucket: row.bucket }] as const] : [])));
}

const render = async (c: Ctx, view: JobView, signedUrls: boolean) => transcodelyJob(view, { signedUrls, origins: await originsOf(c, view) });

/** The key is the body's `idempotency_key`, else the `Idempotency-Key` header (the SDKs send a fresh one with every create). */
function headerKey(c: Ctx, message: Message): string | undefined {
  if (message.idempotency_key !== undefined) return undefined;
  const key = c.req.header("idempotency-key");
  if (key === undefined || key === "") return undefined;
  if (key.length > 128) throw invalidArgument([{ field: "Idempotency-Key", description: "at most 128 characters" }]);
  return key;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** A Timestamp in protojson (RFC 3339) as the index stores times: ISO 8601 UTC with milliseconds. */
function timestamp(value: unknown, field: string, violations: FieldViolation[]): string | null {
  if (value === undefined) return null;
  const ms = typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    violations.push({ field, description: "an RFC 3339 timestamp such as 2025-02-28T10:00:00Z" });
    return null;
  }
  return new Date(ms).toISOString();
}

/** ListJobsRequest → the service's filters; every violation at once. */
function listFilters(message: Message) {
  const violations: FieldViolation[] = [];
  const known = new Set(["status", "statuses", "pagination", "created_after", "created_before", "metadata", "app_id"]);
  for (const key of Object.keys(message)) if (!known.has(key)) violations.push({ field: key, description: "unknown field" });
  const valid = (s: unknown) => typeof s === "string" && (jobStatuses as readonly string[]).includes(s);
  let statuses: string[] = [];
  if (message.statuses !== undefined) {
    const list = Array.isArray(message.statuses) ? message.statuses : [message.statuses];
    list.forEach((s, i) => {
      if (!valid(s)) violations.push({ field: `statuses[${i}]`, description: `one of ${jobStatuses.join(", ")}` });
    });
    if (list.length > 8) violations.push({ field: "statuses", description: "at most 8 statuses" });
    if (new Set(list).size !== list.length) violations.push({ field: "statuses", description: "statuses must be unique" });
    statuses = list.filter(valid) as string[];
  } else if (message.status !== undefined) {
    if (!valid(message.status)) violations.push({ field: "status", description: `one of ${jobStatuses.join(", ")}` });
    else statuses = [message.status as string];
  }
  const pagination = (message.pagination ?? {}) as Message;
  const limit = pagination.limit ?? DEFAULT_LIMIT;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    violations.push({ field: "pagination.limit", description: `0–${MAX_LIMIT} (0: the default, ${DEFAULT_LIMIT})` });
  }
  if (pagination.offset !== undefined) violations.push({ field: "pagination.offset", description: "offsets are not supported by Kiln; page with cursor" });
  const cursor = pagination.cursor;
  if (cursor !== undefined && typeof cursor !== "string") violations.push({ field: "pagination.cursor", description: "a cursor from an earlier response" });
  const createdAfter = timestamp(message.created_after, "created_after", violations);
  const createdBefore = timestamp(message.created_before, "created_before", violations);
  const metadata: Record<string, string> = {};
  if (message.metadata !== undefined) {
    const entries = typeof message.metadata === "object" && message.metadata !== null ? Object.entries(message.metadata) : [];
    if (entries.length > 10) violations.push({ field: "metadata", description: "at most 10 pairs" });
    for (const [key, value] of entries) {
      const field = formatPath(["metadata", key], 1);
      if (key.length < 1 || key.length > 64) violations.push({ field, description: "keys are 1–64 characters" });
      if (typeof value !== "string" || value.length > 1024) violations.push({ field, description: "values are strings of at most 1024 characters" });
      else metadata[key] = value;
    }
  }
  if (violations.length > 0) throw invalidArgument(violations);
  return {
    statuses,
    tags: [],
    search: null,
    bundle: null,
    limit: typeof limit === "number" && limit > 0 ? limit : DEFAULT_LIMIT,
    cursor: typeof cursor === "string" ? cursor : null,
    createdAfter,
    createdBefore,
    metadata,
  };
}

/**
 * `transcodely.v1.JobService`: the six methods over the job service, each a thin
 * translation (request.ts in, job.ts out, watch.ts for the stream).
 */
export const transcodelyJobService = connectService({
  Create: async (c) => {
    const message = await readMessage(c);
    const request = createJobRequest(message);
    const { job } = await jobsFor(c).create(request, { idempotencyKey: headerKey(c, message), dialect: "transcodely" });
    return c.json({ job: await render(c, job, true) });
  },
  Get: async (c) => {
    const id = jobIdOf(await readMessage(c));
    return c.json({ job: await render(c, await jobsFor(c).get(id), true) });
  },
  List: async (c) => {
    const jobs = jobsFor(c);
    const page = await jobs.list(listFilters(await readMessage(c)));
    // The index row is a summary: each job is read whole so every field is true. A job
    // gone between the two reads is left out.
    const views = await Promise.all(page.data.map((row) => jobs.get(row.id).catch(() => null)));
    const rendered = await Promise.all(views.filter((v): v is JobView => v !== null).map((view) => render(c, view, false)));
    return c.json({ jobs: rendered, pagination: { next_cursor: page.next_cursor ?? "", total_count: page.total_count } });
  },
  Cancel: async (c) => {
    const id = jobIdOf(await readMessage(c));
    return c.json({ job: await render(c, await jobsFor(c).cancel(id), true) });
  },
  Confirm: async (c) => {
    const id = jobIdOf(await readMessage(c));
    return c.json({ job: await render(c, await jobsFor(c).confirm(id), true) });
  },
  Watch: async (c) => {
    const id = jobIdOf(await readMessage(c));
    const native = await jobsFor(c).watch(id, {});
    if (!native.body) throw new Error("the job's watch answered without a stream");
    const connect = isConnectStreaming(c);
    let origins: Map<string, OriginFacts> | undefined;
    const body = watchStream(native.body, {
      connect,
      render: async (view) => {
        origins ??= await originsOf(c, view);
        return transcodelyJob(view, { signedUrls: true, origins });
      },
      toError: (err) => toConnectError(err, c.get("requestId")),
    });
    return c.body(body, 200, { "content-type": connect ? CONNECT_STREAMING : "application/x-ndjson", "cache-control": "no-store" });
  },
});
