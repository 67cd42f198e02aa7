import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { InputMetadata } from "../../encoder/contract";

export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: text("created_at").notNull(),
});

/**
 * An organization's own job limits, where they differ from the deployment's vars
 * (worker/limits/limits.ts); a null column keeps the var. Set by an operator in D1.
 */
export const orgLimits = sqliteTable("org_limits", {
  orgId: text("org_id").primaryKey(),
  jobsPerMinutePerKey: integer("jobs_per_minute_per_key"),
  jobsPerMinute: integer("jobs_per_minute"),
  activeJobs: integer("active_jobs"),
  runningJobs: integer("running_jobs"),
});

/** Only the SHA-256 of a key's secret is stored; the secret is shown once, at creation. */
export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  secretHash: text("secret_hash").notNull().unique(),
  secretPrefix: text("secret_prefix").notNull(),
  statements: text("statements", { mode: "json" }).notNull().$type<PolicyStatementRow[]>(),
  createdAt: text("created_at").notNull(),
  revokedAt: text("revoked_at"),
});

export type PolicyStatementRow = { effect: "allow"; actions: string[]; resources: string[] };

export const apiKeyOrganizations = sqliteTable(
  "api_key_organizations",
  {
    keyId: text("key_id").notNull().references(() => apiKeys.id),
    orgId: text("org_id").notNull().references(() => organizations.id),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.orgId] }), index("api_key_organizations_org").on(t.orgId)],
);

/**
 * The job index. The JobDO owns each job's state; this table mirrors what lists and
 * filters need so that they are SQL queries instead of a fan-out to every DO.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    status: text("status").notNull(),
    progress: integer("progress").notNull().default(0),
    currentStage: text("current_stage"),
    mode: text("mode").notNull(),
    kind: text("kind"),
    priority: text("priority").notNull(),
    bundle: text("bundle"),
    input: text("input"),
    tags: text("tags", { mode: "json" }).notNull().$type<string[]>().default(sql`'[]'`),
    errorCode: text("error_code"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    startedAt: text("started_at"),
    completedAt: text("completed_at"),
    /** When retention deleted the outputs of the run that ended at `completed_at` (worker/retention/). */
    outputsExpiredAt: text("outputs_expired_at"),
    /** The job's metadata, for exact-match filters (Transcodely's List); null in rows written before it was kept. */
    metadata: text("metadata", { mode: "json" }).$type<Record<string, string | number | boolean>>(),
    /** The vendor front-end that created the job (its list shows only its own jobs: Clipzy's); null for native jobs and rows indexed before it was kept. */
    dialect: text("dialect"),
    /** The attempt waits for a free encoder (the pool answered busy): VTK's "waiting for resources". */
    waitingForEncoder: integer("waiting_for_encoder", { mode: "boolean" }).notNull().default(false),
    /** What the job has used so far (billing/usage.ts), summed over its bundle (VTK's job bundles): input and output bytes, */
    bytesIn: integer("bytes_in").notNull().default(0),
    bytesOut: integer("bytes_out").notNull().default(0),
    /** the run from start to end (null until it ended), and compute units (minutes of an encoder slot). */
    executionMs: integer("execution_ms"),
    computeUnits: real("compute_units").notNull().default(0),
  },
  (t) => [
    index("jobs_org_created").on(t.orgId, t.createdAt, t.id),
    index("jobs_org_status_created").on(t.orgId, t.status, t.createdAt, t.id),
    index("jobs_org_bundle").on(t.orgId, t.bundle),
    index("jobs_completed").on(t.completedAt),
    index("jobs_org_updated").on(t.orgId, t.updatedAt, t.id),
    index("jobs_org_dialect_created").on(t.orgId, t.dialect, t.createdAt, t.id),
  ],
);

/**
 * Lower-cased tags, one row each, so "all of these tags" is an indexed lookup per tag. The
 * job's `created_at` is copied here so that a page of one tag walks this table's index in
 * list order instead of every job of the organization.
 */
export const jobTags = sqliteTable(
  "job_tags",
  {
    jobId: text("job_id").notNull(),
    orgId: text("org_id").notNull(),
    tag: text("tag").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.tag] }), index("job_tags_org_tag_created").on(t.orgId, t.tag, t.createdAt, t.jobId)],
);

/**
 * How many index rows each organization has in each status, kept by SQLite triggers on
 * `jobs` (migrations/0014_job_counts_search.sql) so a list's `total_count` is a lookup, not
 * a scan. The same migration keeps `job_search`, an FTS5 trigram index of job ids and
 * tags for substring search, which drizzle cannot declare.
 */
export const orgJobCounts = sqliteTable(
  "org_job_counts",
  {
    orgId: text("org_id").notNull(),
    status: text("status").notNull(),
    total: integer("total").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.status] })],
);

/**
 * The organization's webhook signing secret (`whsec_…`), created on first use. It is
 * an HMAC key the receiver must hold too, so a hash could not sign: it is stored
 * encrypted under ORIGIN_CREDENTIALS_KEY (webhooks/secrets.ts; rows from before that
 * hold the plaintext until first read) and shown to keys allowed `webhooks:read_secret`.
 */
export const webhookSecrets = sqliteTable("webhook_secrets", {
  orgId: text("org_id").primaryKey(),
  secret: text("secret").notNull(),
  createdAt: text("created_at").notNull(),
});

/** One webhook event of one job (`whd_…`, the `webhook-id` header); its attempts are below. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    jobId: text("job_id").notNull(),
    eventType: text("event_type").notNull(),
    url: text("url").notNull(),
    status: text("status").notNull().$type<"pending" | "delivered" | "failed">().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastLatencyMs: integer("last_latency_ms"),
    lastError: text("last_error"),
    lastAttemptAt: text("last_attempt_at"),
    nextAttemptAt: text("next_attempt_at"),
    deliveredAt: text("delivered_at"),
    enqueuedAt: text("enqueued_at"),
    /** The job at the transition while the delivery is pending (webhooks/snapshot.ts); cleared when it ends. */
    snapshot: text("snapshot"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("webhook_deliveries_job").on(t.jobId, t.createdAt),
    // The few deliveries still under way, for the sweep of lost Queue messages (webhooks/sweep.ts).
    index("webhook_deliveries_pending").on(t.createdAt).where(sql`${t.status} = 'pending'`),
  ],
);

export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    deliveryId: text("delivery_id").notNull(),
    attempt: integer("attempt").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms"),
    error: text("error"),
    attemptedAt: text("attempted_at").notNull(),
    nextAttemptAt: text("next_attempt_at"),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);

/**
 * Media users upload (`vid_…`), per organization: by a signed PUT (`protocol: put`) or
 * tus 1.0 over an R2 multipart upload (`protocol: tus`). The object lives at `key` in
 * MEDIA. For tus: `upload_offset` = parts × `part_size` + `staged_bytes`, the staged
 * tail (< one part) kept in R2 at `tus-staging/<id>` until a later PATCH completes the part.
 * Once ready, the encoder probes the object: `probe_status` pending → completed (with
 * `probe_metadata`, the contract's InputMetadata) or failed (with the error's code and message).
 */
export const uploads = sqliteTable(
  "uploads",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    protocol: text("protocol").notNull().$type<"put" | "tus">(),
    status: text("status").notNull().$type<"waiting" | "uploading" | "ready" | "expired" | "deleted">(),
    filename: text("filename"),
    contentType: text("content_type").notNull(),
    key: text("key").notNull(),
    maxBytes: integer("max_bytes"),
    sizeBytes: integer("size_bytes"),
    etag: text("etag"),
    uploadLength: integer("upload_length"),
    uploadOffset: integer("upload_offset").notNull().default(0),
    uploadMetadata: text("upload_metadata"),
    multipartId: text("multipart_id"),
    partSize: integer("part_size"),
    partsDone: integer("parts_done").notNull().default(0),
    stagedBytes: integer("staged_bytes").notNull().default(0),
    lockToken: text("lock_token"),
    lockExpiresAt: integer("lock_expires_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    completedAt: text("completed_at"),
    deletedAt: text("deleted_at"),
    probeStatus: text("probe_status").$type<"pending" | "completed" | "failed">(),
    probeMetadata: text("probe_metadata", { mode: "json" }).$type<InputMetadata>(),
    probeErrorCode: text("probe_error_code"),
    probeErrorMessage: text("probe_error_message"),
    probedAt: text("probed_at"),
  },
  (t) => [index("uploads_org_created").on(t.orgId, t.createdAt, t.id), index("uploads_status_created").on(t.status, t.createdAt)],
);

/** The R2 parts of a tus upload so far (part numbers from 1), until it completes. */
export const uploadParts = sqliteTable(
  "upload_parts",
  {
    uploadId: text("upload_id").notNull(),
    partNumber: integer("part_number").notNull(),
    etag: text("etag").notNull(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.partNumber] })],
);

/**
 * A user's own bucket (`ori_…`), per organization: S3, R2 or GCS (through its
 * S3-compatible HMAC endpoint). `credentials` is AES-GCM ciphertext (worker/origins/crypto.ts),
 * never plaintext; `permissions` a JSON array of "read" / "write".
 */
export const origins = sqliteTable(
  "origins",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    provider: text("provider").notNull().$type<"s3" | "r2" | "gcs">(),
    bucket: text("bucket").notNull(),
    path: text("path"),
    region: text("region").notNull(),
    endpoint: text("endpoint"),
    permissions: text("permissions").notNull(),
    credentials: text("credentials").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("origins_org_created").on(t.orgId, t.createdAt, t.id)],
);

/**
 * Named S3-style credentials (`sec_…`) per organization, used by jobs as
 * `s3://{name}@bucket/key` (VTK's form). `credentials` is AES-GCM ciphertext bound to
 * the org and secret id (worker/origins/crypto.ts); `access_key_hint` is the access key
 * id's last four characters, all a response ever shows of it. `region` and `endpoint`
 * say where the bucket is (not secret).
 */
export const secrets = sqliteTable(
  "secrets",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    credentials: text("credentials").notNull(),
    accessKeyHint: text("access_key_hint").notNull(),
    region: text("region"),
    endpoint: text("endpoint"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("secrets_org_name").on(t.orgId, t.name), index("secrets_org_created").on(t.orgId, t.createdAt, t.id)],
);

/**
 * An organization's output presets (`pst_…`): a named output spec that a job's output
 * names by id or slug and may override field by field. `output` is the OutputSpec as
 * JSON, validated with the same schema as a job's outputs. Slugs are unique per org
 * and never shadow a built-in preset's.
 */
export const presets = sqliteTable(
  "presets",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    output: text("output", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("presets_org_slug").on(t.orgId, t.slug), index("presets_org_created").on(t.orgId, t.createdAt, t.id)],
);

/**
 * VTK's job bundles: a name per organization, unique and immutable, that jobs are filed
 * under (a job's `bundle`). Their figures are summed from the job index, not stored.
 */
export const jobBundles = sqliteTable(
  "job_bundles",
  {
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.name] }), index("job_bundles_org_created").on(t.orgId, t.createdAt, t.name)],
);
