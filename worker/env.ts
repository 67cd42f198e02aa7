import type { DispatchMessage } from "./queue/dispatch-message";
import type { ProbeMessage } from "./queue/probe-message";
import type { WebhookMessage } from "./webhooks/message";

export interface Env {
  DB: D1Database;
  /**
   * One JobDO per job. Typed without importing the class (which imports nearly every
   * module, this one included): jobs/job-stub.ts gives the typed stub.
   */
  JOBS: DurableObjectNamespace;
  /** One OrgLimiter per organization: job create rates, jobs under way, jobs on the encoder pool (worker/limits/). */
  LIMITER: DurableObjectNamespace;
  DISPATCH: Queue<DispatchMessage>;
  WEBHOOKS: Queue<WebhookMessage>;
  /** Uploads that became ready, for the encoder to probe (worker/queue/probe-consumer.ts). */
  PROBES: Queue<ProbeMessage>;
  KILN_ENV: string;
  PROGRESS_MIRROR_INTERVAL_MS: string;
  /** Managed storage: job outputs, served through signed /storage URLs. */
  MEDIA: R2Bucket;
  /** Exported files larger than this many bytes are uploaded in parts (default 96 MiB; worker/storage/multipart.ts). */
  MULTIPART_THRESHOLD_BYTES?: string;
  /** The size of each part but the last (default 64 MiB, at least 5 MiB). */
  MULTIPART_PART_BYTES?: string;
  /** Days managed uploads and job outputs are kept before the cron deletes them (default 30; 0 keeps them). */
  RETENTION_DAYS?: string;
  /** HMAC key for signed /storage URLs (≥ 32 chars; `wrangler secret put` in production). */
  STORAGE_SIGNING_SECRET: string;
  /** AES-GCM key for origin credentials at rest: base64 of 32 bytes (`wrangler secret put ORIGIN_CREDENTIALS_KEY`). */
  ORIGIN_CREDENTIALS_KEY?: string;
  /**
   * Tests only: one endpoint origin (e.g. `http://127.0.0.1:4568`, a local S3 server)
   * exempt from the production rules for origin and secret endpoints. Set by
   * test/worker/vitest.config.ts; never in wrangler.toml or by `npm start`.
   */
  TEST_ONLY_ALLOWED_S3_ENDPOINT?: string;
  /** First webhook retry delay in seconds (default 30); later ones grow ×5 up to 12 h. */
  WEBHOOK_RETRY_BASE_SECONDS?: string;
  /** A pending delivery due this many seconds ago is sent to the Queue again (default 900; webhooks/sweep.ts). */
  WEBHOOK_SWEEP_GRACE_SECONDS?: string;
  /** The Worker's own origin as the encoder reaches it (callbacks, signed storage URLs). */
  PUBLIC_URL: string;
  /** A self-hosted or local encoder pool; the Containers binding serves when unset. */
  ENCODER_URL?: string;
  /** The encoder as Cloudflare Containers (`[[containers]]` in wrangler.toml), used when ENCODER_URL is unset. */
  ENCODER?: DurableObjectNamespace;
  /** Container instances jobs are spread over by job id (default 4; keep ≤ max_instances). */
  ENCODER_POOL_SIZE?: string;
  /** Shared secret the Worker presents to the encoder. */
  ENCODER_TOKEN: string;
  /** No encoder event for this long means the attempt is lost. */
  LEASE_TIMEOUT_MS: string;
  /** Attempts lost to the watchdog before the job fails with encoder_lost. */
  MAX_ATTEMPTS: string;
  /** The largest file Clipzy's upload (`POST /api/v1/videos/upload`) takes, in MiB (default 64: the body is buffered in memory). */
  CLIPZY_MAX_FILE_SIZE_MB?: string;
  /** Jobs one API key may create per minute (default 3000); an org_limits row overrides it for its organization. */
  JOBS_PER_MINUTE_PER_KEY?: string;
  /** Jobs one organization may create per minute over all its keys (default 6000). */
  JOBS_PER_MINUTE_PER_ORG?: string;
  /** Jobs not yet ended one organization may have at once (default 5000); a create past it is a 429. */
  MAX_ACTIVE_JOBS_PER_ORG?: string;
  /** Jobs of one organization on the encoder pool at once (default 4); the rest wait as for a full pool. */
  MAX_RUNNING_JOBS_PER_ORG?: string;
  /** Seconds a job may run, from when it became runnable (created, confirmed, restarted), before it fails with job_timeout (default 86400). */
  JOB_TIMEOUT_S?: string;
}

export interface Principal {
  keyId: string;
  orgId: string;
  statements: import("./auth/policy").PolicyStatement[];
  orgIds: string[];
}

export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string; principal: Principal };
};
