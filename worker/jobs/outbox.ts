import type { Env } from "../env";
import { nowIso } from "../ids";
import type { WebhookEventType } from "../webhooks/message";
import { abandonWebhook, scheduleWebhook } from "../webhooks/schedule";
import { writeJobIndex } from "./job-index";
import type { JobState, JobView } from "./job-state";
import type { Effect } from "./machine";

/**
 * What the job owes the outside world — its D1 index row, dispatch messages on the
 * Queue, webhooks — saved with the state before any of it is attempted, and retried by
 * the alarm, so a failed D1 write or Queue send is not lost to a passing fault. Each
 * retry backs off and ends after OUTBOX_MAX_ATTEMPTS: a duty that cannot be done (a
 * Queue that refuses a message, an outage of hours) is given up with its reason rather
 * than retried for ever, and no duty waits on another.
 */
interface Duties {
  /** The D1 index is behind the DO; written no more often than the mirror interval for progress. */
  index: boolean;
  indexTags: boolean;
  lastIndexedAt: number;
  /** The status the index last saw: a change of status is written at once. */
  indexedStatus: string | null;
  /** Failed index writes since the last success, and when the next is due (absent: at once). */
  indexFailures?: number;
  indexRetryAt?: number;
  /** An attempt whose dispatch message has not reached the Queue yet. */
  dispatchAttempt: number | null;
  dispatchFailures?: number;
  dispatchRetryAt?: number;
  /** Webhook events not yet handed to the webhook Queue, with the job as it was then. */
  webhooks?: PendingWebhook[];
}

interface PendingWebhook {
  event: WebhookEventType;
  job: JobView;
  failures?: number;
  retryAt?: number;
}

/** A failed duty is tried again after 5 s, 10 s, 20 s … at most 5 min apart. */
const RETRY_MS = 5_000;
const MAX_RETRY_MS = 5 * 60_000;
/** Tries of one duty before it is given up: about 20 minutes of retries. */
export const OUTBOX_MAX_ATTEMPTS = 10;

const retryDelay = (failures: number) => Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (failures - 1));
const ROW = "pending";

type OutboxEnv = Pick<Env, "DB" | "DISPATCH" | "WEBHOOKS" | "PROGRESS_MIRROR_INTERVAL_MS">;

export class Outbox {
  private duties: Duties = { index: false, indexTags: false, lastIndexedAt: 0, indexedStatus: null, dispatchAttempt: null };

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: OutboxEnv & Parameters<typeof scheduleWebhook>[0],
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
      // A new attempt is a new duty; a new index write keeps the backoff of the one it joins.
      if (effect.type === "enqueue") Object.assign(duties, { dispatchFailures: 0, dispatchRetryAt: undefined });
    }
  }

  /** Whether any duty is still owed (an index write, a dispatch message, a webhook). */
  get owing(): boolean {
    const d = this.duties;
    return d.index || d.dispatchAttempt !== null || (d.webhooks?.length ?? 0) > 0;
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
      const dueAt = Math.max(
        duties.indexRetryAt ?? 0,
        options.indexDue || duties.indexedStatus !== job.status ? now : duties.lastIndexedAt + interval,
      );
      if (dueAt <= now) {
        const claimed = { indexTags: duties.indexTags, lastIndexedAt: duties.lastIndexedAt, indexedStatus: duties.indexedStatus };
        Object.assign(duties, { index: false, indexTags: false, lastIndexedAt: now, indexedStatus: job.status });
        try {
          await writeJobIndex(this.env.DB, job, claimed.indexTags);
          Object.assign(duties, { indexFailures: 0, indexRetryAt: undefined });
        } catch (err) {
          const failures = (duties.indexFailures ?? 0) + 1;
          if (failures >= OUTBOX_MAX_ATTEMPTS) {
            // The job's next change marks the index again; until then lists show it as it was.
            logFailure(job.id, "index write", err, "gave up");
            Object.assign(duties, { indexFailures: 0, indexRetryAt: undefined, lastIndexedAt: claimed.lastIndexedAt, indexedStatus: claimed.indexedStatus });
          } else {
            logFailure(job.id, "index write", err, failures);
            Object.assign(duties, { index: true, ...claimed, indexFailures: failures, indexRetryAt: now + retryDelay(failures) });
            later(now + retryDelay(failures));
          }
        }
      } else {
        later(dueAt);
      }
    }

    const attempt = duties.dispatchAttempt;
    if (attempt !== null && (duties.dispatchRetryAt ?? 0) > now) {
      later(duties.dispatchRetryAt!);
    } else if (attempt !== null) {
      duties.dispatchAttempt = null;
      try {
        await this.env.DISPATCH.send({ v: 1, job_id: job.id, org_id: job.org_id, attempt, priority: job.spec.priority, enqueued_at: nowIso() }, { contentType: "json" });
      } catch (err) {
        // The alarm dispatches the attempt itself when it falls due; the message is only a
        // wake-up, so giving it up delays the job at most until then.
        const failures = (duties.dispatchFailures ?? 0) + 1;
        if (duties.dispatchAttempt !== null) {
          // A newer attempt was recorded meanwhile and replaces this one.
          logFailure(job.id, "dispatch send", err, failures);
        } else if (failures >= OUTBOX_MAX_ATTEMPTS) {
          logFailure(job.id, "dispatch send", err, "gave up");
        } else {
          logFailure(job.id, "dispatch send", err, failures);
          Object.assign(duties, { dispatchAttempt: attempt, dispatchFailures: failures, dispatchRetryAt: now + retryDelay(failures) });
          later(now + retryDelay(failures));
        }
      }
    }

    const webhooks = duties.webhooks ?? [];
    duties.webhooks = [];
    const kept: PendingWebhook[] = [];
    // Each webhook on its own schedule: one that keeps failing holds up none after it.
    for (const webhook of webhooks) {
      if ((webhook.retryAt ?? 0) > now) {
        kept.push(webhook);
        later(webhook.retryAt!);
        continue;
      }
      try {
        await scheduleWebhook(this.env, webhook.job, webhook.event, job.org_id);
      } catch (err) {
        const failures = (webhook.failures ?? 0) + 1;
        if (failures >= OUTBOX_MAX_ATTEMPTS) {
          await this.abandon(job, webhook, err);
        } else {
          logFailure(job.id, `webhook ${webhook.event} scheduling`, err, failures);
          kept.push({ ...webhook, failures, retryAt: now + retryDelay(failures) });
          later(now + retryDelay(failures));
        }
      }
    }
    duties.webhooks = [...kept, ...duties.webhooks];
    this.save();
    return nextAt;
  }

  /** Ends a webhook the Queue never took as a failed delivery, with the reason in its row. */
  private async abandon(job: JobState, webhook: PendingWebhook, err: unknown): Promise<void> {
    logFailure(job.id, `webhook ${webhook.event} scheduling`, err, "gave up");
    try {
      await abandonWebhook(this.env, webhook.job, webhook.event, job.org_id, `not queued after ${OUTBOX_MAX_ATTEMPTS} attempts: ${String(err)}`.slice(0, 1000));
    } catch (recordErr) {
      logFailure(job.id, `recording the abandoned webhook ${webhook.event}`, recordErr, "gave up");
    }
  }
}

function logFailure(jobId: string, what: string, err: unknown, attempt: number | "gave up"): void {
  const outcome = attempt === "gave up" ? `gave up after ${OUTBOX_MAX_ATTEMPTS} attempts` : `attempt ${attempt} of ${OUTBOX_MAX_ATTEMPTS}, retried`;
  console.error(JSON.stringify({ level: "error", job_id: jobId, code: attempt === "gave up" ? "outbox_gave_up" : "outbox_retry", message: `${what} failed (${outcome}): ${String(err)}` }));
}
