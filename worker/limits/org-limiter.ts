import { DurableObject } from "cloudflare:workers";
import type { PriorityName } from "../api/schemas/create-job";
import type { Env } from "../env";
import { terminalStatuses } from "../jobs/model";
import { type JobLimits, jobLimits } from "./limits";

export type Admission = { ok: true } | { ok: false; reason: string; retryAfterSeconds: number };

/** How long a job admitted here counts before the D1 index is expected to show it. */
const RESERVATION_MS = 60_000;
/** An operator's change to an organization's limits takes effect within this long. */
const LIMITS_TTL_MS = 30_000;
/** A client refused for a full organization is told to look again after this long. */
const FULL_RETRY_AFTER_S = 5;
/** Waiting jobs woken when one slot comes free: the one for it, and one more in case a woken job has gone. */
const WAKE_PER_FREED_SLOT = 2;
const PRIORITY_RANK: Record<PriorityName, number> = { premium: 0, standard: 1, economy: 2 };

interface Bucket {
  tokens: number;
  at: number;
}

const TERMINAL = terminalStatuses.map((s) => `'${s}'`).join(", ");

/**
 * The admission control of one organization's jobs: create rates per key and per
 * organization (token buckets), jobs not yet ended, and jobs on the encoder pool.
 *
 * A Durable Object of its own, one per organization (idFromName(org id)), as
 * workers-chat-demo's RateLimiter: a limit is a count that concurrent requests from
 * every isolate must see, and a single-threaded object is the one place that count can
 * be checked and taken without a race; it is not the JobDO, which exists per job and
 * knows nothing of its siblings. Workers' rate-limit binding would do for the rates but
 * is not available in local workerd tests and cannot count live jobs.
 *
 * Jobs refused a slot (by the cap here, or by a full encoder pool) are kept as waiters,
 * and a job that leaves the pool wakes the first of them, by priority then age, so a
 * freed slot is taken at once rather than at the next try of a job backing off. The
 * waiters are a hint kept in memory: each job's own backoff stands behind them.
 *
 * Buckets live in memory: an object evicted while idle has refilled them anyway. Live
 * jobs are counted from the D1 index, plus the jobs this object admitted that the index
 * does not show yet (their JobDO writes the row within the create), so a burst of
 * concurrent creates cannot all read the same count and pass together.
 */
export class OrgLimiter extends DurableObject<Env> {
  private readonly buckets = new Map<string, Bucket>();
  /** Jobs admitted to be created, and to run, that the index may not show yet: id → until when. */
  private readonly creating = new Map<string, number>();
  private readonly starting = new Map<string, number>();
  /** Jobs refused a slot, in the order they asked: id → priority rank. */
  private readonly waiting = new Map<string, number>();
  private limits: { value: JobLimits; until: number } | null = null;

  /** The organization's limits, read again from D1 at most every LIMITS_TTL_MS. */
  private async current(orgId: string): Promise<JobLimits> {
    if (!this.limits || this.limits.until <= Date.now()) this.limits = { value: await jobLimits(this.env, orgId), until: Date.now() + LIMITS_TTL_MS };
    return this.limits.value;
  }

  /** May `keyId` create job `jobId` now? A job the index already has (an idempotent retry) makes no new job. */
  async admitCreate(command: { orgId: string; keyId: string | null; jobId: string }): Promise<Admission> {
    const { orgId, keyId, jobId } = command;
    const limits = await this.current(orgId);
    const ids = JSON.stringify([jobId, ...this.creating.keys()]);
    const [active, indexed] = await this.env.DB.batch<{ n?: number; id?: string }>([
      this.env.DB.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE org_id = ? AND status NOT IN (${TERMINAL})`).bind(orgId),
      // One JSON parameter, as a burst can hold more reservations than D1 binds parameters.
      this.env.DB.prepare("SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?))").bind(ids),
    ]);
    // From here to the reservation nothing awaits, so no other request interleaves.
    const now = Date.now();
    const shown = new Set(indexed!.results.map((r) => r.id!));
    for (const [id, until] of this.creating) if (shown.has(id) || until <= now) this.creating.delete(id);

    const rates: [string, number, string][] = [
      ...(keyId ? ([[`key:${keyId}`, limits.jobsPerMinutePerKey, `this API key's limit of ${limits.jobsPerMinutePerKey} jobs per minute`]] as [string, number, string][]) : []),
      ["org", limits.jobsPerMinute, `the organization's limit of ${limits.jobsPerMinute} jobs per minute`],
    ];
    for (const [name, perMinute, what] of rates) {
      const wait = this.waitFor(name, perMinute, now);
      if (wait > 0) return { ok: false, reason: `Too many jobs created: ${what}`, retryAfterSeconds: Math.ceil(wait / 1000) };
    }
    if (!shown.has(jobId) && !this.creating.has(jobId)) {
      const live = (active!.results[0]?.n ?? 0) + this.creating.size;
      if (live >= limits.activeJobs) {
        return { ok: false, reason: `The organization has ${limits.activeJobs} jobs under way, its limit; wait for one to end`, retryAfterSeconds: FULL_RETRY_AFTER_S };
      }
      this.creating.set(jobId, now + RESERVATION_MS);
    }
    for (const [name, perMinute] of rates) this.take(name, perMinute, now);
    return { ok: true };
  }

  /**
   * May job `jobId` go to the encoder pool now? It counts as running from here until the
   * index shows it past `pending` (running, or ended), or a minute has passed.
   */
  async admitRun(command: { orgId: string; jobId: string; priority: PriorityName }): Promise<boolean> {
    const { orgId, jobId, priority } = command;
    const limit = (await this.current(orgId)).runningJobs;
    const rows = await this.env.DB.prepare(
      "SELECT id, status FROM jobs WHERE org_id = ? AND (status IN ('probing', 'processing') OR id IN (SELECT value FROM json_each(?)))",
    )
      .bind(orgId, JSON.stringify([...this.starting.keys()]))
      .all<{ id: string; status: string }>();
    const now = Date.now();
    const moved = new Set(rows.results.filter((r) => r.status !== "pending").map((r) => r.id));
    for (const [id, until] of this.starting) if (moved.has(id) || until <= now) this.starting.delete(id);
    const others = new Set([...rows.results.filter((r) => r.status === "probing" || r.status === "processing").map((r) => r.id), ...this.starting.keys()]);
    others.delete(jobId);
    if (others.size >= limit) {
      this.wait(jobId, priority);
      return false;
    }
    this.waiting.delete(jobId);
    this.starting.set(jobId, now + RESERVATION_MS);
    return true;
  }

  /** A job admitted here that the encoder pool refused: its reservation goes, and it waits for a slot. */
  async notStarted(command: { jobId: string; priority: PriorityName }): Promise<void> {
    this.starting.delete(command.jobId);
    this.wait(command.jobId, command.priority);
  }

  /** A job left the encoder pool (ended, or its attempt was lost): answers the waiting jobs to wake, first first. */
  async slotFreed(command: { jobId: string }): Promise<string[]> {
    this.starting.delete(command.jobId);
    this.waiting.delete(command.jobId);
    const first = [...this.waiting].sort((a, b) => a[1] - b[1]).slice(0, WAKE_PER_FREED_SLOT).map(([id]) => id);
    for (const id of first) this.waiting.delete(id);
    return first;
  }

  private wait(jobId: string, priority: PriorityName): void {
    if (!this.waiting.has(jobId)) this.waiting.set(jobId, PRIORITY_RANK[priority]);
  }

  /** Milliseconds until the bucket holds a whole token (0: now); refills perMinute per minute up to perMinute. */
  private waitFor(name: string, perMinute: number, now: number): number {
    const bucket = this.refilled(name, perMinute, now);
    return bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) * 60_000) / perMinute;
  }

  private take(name: string, perMinute: number, now: number): void {
    this.refilled(name, perMinute, now).tokens -= 1;
  }

  private refilled(name: string, perMinute: number, now: number): Bucket {
    const bucket = this.buckets.get(name) ?? { tokens: perMinute, at: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + ((now - bucket.at) * perMinute) / 60_000);
    bucket.at = now;
    this.buckets.set(name, bucket);
    return bucket;
  }
}
