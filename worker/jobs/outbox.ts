import type { Env } from "../env";
import { nowIso } from "../ids";
import type { WebhookEventType } from "../webhooks/message";
import { scheduleWebhook } from "../webhooks/schedule";
import { writeJobIndex } from "./job-index";
import type { JobState, JobView } from "./job-state";
import type { Effect } from "./machine";

/**
 * What the job owes the outside world — its D1 index row, dispatch messages on the
 * Queue, webhooks — saved with the state before any of it is attempted, and retried by
 * the alarm until done, so a failed D1 write or Queue send is never lost.
 */
interface Duties {
  /** The D1 index is behind the DO; written no more often than the mirror interval for progress. */
  index: boolean;
  indexTags: boolean;
  lastIndexedAt: number;
  /** The status the index last saw: a change of status is written at once. */
  indexedStatus: string | null;
  /** An attempt whose dispatch message has not reached the Queue yet. */
  dispatchAttempt: number | null;
  /** Webhook events not yet handed to the webhook Queue, with the job as it was then. */
  webhooks?: { event: WebhookEventType; job: JobView }[];
}

const RETRY_MS = 5_000;
const ROW = "pending";

type OutboxEnv = Pick<Env, "DB" | "DISPATCH" | "WEBHOOKS" | "PROGRESS_MIRROR_INTERVAL_MS">;

export class Outbox {
  private duties: Duties = { index: false, indexTags: false, lastIndexedAt: 0, indexedStatus: null, dispatchAttempt: null };

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: OutboxEnv & Parameters<typeof scheduleWebhook>[0],
    /** Signs a webhook's job snapshot's URLs at sending time. */
    private readonly sign: (view: JobView, job: JobState) => Promise<JobView>,
  ) {
    for (const row of sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = ?", ROW)) this.duties = JSON.parse(row.body);
  }

  /** Takes on the duties among a step's effects; the caller saves them with the state. */
  record(effects: Effect[], options: { withTags?: boolean } = {}): void {
    const duties = this.duties;
    if (options.withTags) duties.indexTags = true;
    for (const effect of effects) {
      if (effect.type === "index") duties.index = true;
      else if (effect.type === "enqueue") duties.dispatchAttempt = effect.attempt;
      else if (effect.type === "webhook") duties.webhooks = [...(duties.webhooks ?? []), { event: effect.event, job: effect.job }];
    }
  }

  /** The duties as one row beside the job's; written in the same synchronous step as the state. */
  save(): void {
    this.sql.exec("INSERT OR REPLACE INTO doc (name, body) VALUES (?, ?)", ROW, JSON.stringify(this.duties));
  }

  /**
   * Performs the duties that are due and answers when the rest fall due (a throttled
   * index write, a retry), or null. Each duty is claimed before its await, so a
   * concurrent flush does not repeat it.
   */
  async flush(job: JobState, now: number, options: { indexDue?: boolean } = {}): Promise<number | null> {
    const duties = this.duties;
    let nextAt: number | null = null;
    const later = (at: number) => {
      nextAt = Math.min(nextAt ?? Infinity, at);
    };

    if (duties.index) {
      const interval = Number(this.env.PROGRESS_MIRROR_INTERVAL_MS) || 1000;
      const dueAt = options.indexDue || duties.indexedStatus !== job.status ? now : duties.lastIndexedAt + interval;
      if (dueAt <= now) {
        const claimed = { indexTags: duties.indexTags, lastIndexedAt: duties.lastIndexedAt, indexedStatus: duties.indexedStatus };
        Object.assign(duties, { index: false, indexTags: false, lastIndexedAt: now, indexedStatus: job.status });
        try {
          await writeJobIndex(this.env.DB, job, claimed.indexTags);
        } catch (err) {
          logFailure(job.id, "index write", err);
          Object.assign(duties, { index: true, ...claimed });
          later(now + RETRY_MS);
        }
      } else {
        later(dueAt);
      }
    }

    const attempt = duties.dispatchAttempt;
    if (attempt !== null) {
      duties.dispatchAttempt = null;
      try {
        await this.env.DISPATCH.send({ v: 1, job_id: job.id, org_id: job.org_id, attempt, priority: job.spec.priority, enqueued_at: nowIso() }, { contentType: "json" });
      } catch (err) {
        // The alarm dispatches the attempt itself when it falls due; the message is only a wake-up.
        logFailure(job.id, "dispatch send", err);
        duties.dispatchAttempt ??= attempt;
        later(now + RETRY_MS);
      }
    }

    const webhooks = duties.webhooks ?? [];
    duties.webhooks = [];
    for (const [i, webhook] of webhooks.entries()) {
      try {
        await scheduleWebhook(this.env, await this.sign(webhook.job, job), webhook.event, job.org_id);
      } catch (err) {
        logFailure(job.id, "webhook scheduling", err);
        duties.webhooks = [...webhooks.slice(i), ...(duties.webhooks ?? [])];
        later(now + RETRY_MS);
        break;
      }
    }
    this.save();
    return nextAt;
  }
}

function logFailure(jobId: string, what: string, err: unknown): void {
  console.error(JSON.stringify({ level: "error", job_id: jobId, message: `${what} failed: ${String(err)}` }));
}
