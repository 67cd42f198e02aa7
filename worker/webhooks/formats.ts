import { Webhook } from "standardwebhooks";
import { envelope } from "../dialects/clipzy/envelope";
import { clipzyJobDetail } from "../dialects/clipzy/job";
import { ittybitJob } from "../dialects/ittybit/job";
import { transcodelyJob } from "../dialects/transcodely/job";
import { jobOrigins } from "../dialects/transcodely/job-origins";
import { vtkJobStatus, vtkJobUrl } from "../dialects/vtk/job";
import type { JobView } from "../jobs/job-state";
import type { WebhookDelivery, WebhookEventType } from "./message";

/** What one attempt POSTs: the body and the headers that identify and sign it. */
export interface DeliveryRequest {
  body: string;
  headers: Record<string, string>;
}

/** What a format may read beyond the message: the index (db) and the Worker's public URL (links to the job). */
interface Deployment {
  db: D1Database;
  publicUrl: string;
}

type Format = (message: WebhookDelivery, secret: string, at: Date, deployment: Deployment) => Promise<DeliveryRequest>;

/**
 * Standard Webhooks: `webhook-id` (the delivery, stable across retries), `webhook-timestamp`
 * and `webhook-signature` over `{id}.{timestamp}.{body}`, so a receiver can verify the body
 * with any Standard Webhooks library and the organization's secret.
 */
function standardWebhook(message: WebhookDelivery, body: string, secret: string, at: Date): DeliveryRequest {
  return {
    body,
    headers: {
      "webhook-id": message.delivery_id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(message.delivery_id, at, body),
    },
  };
}

/**
 * Transcodely has no partial-job event: a job that ended with some outputs failed is a
 * `job.failed` whose job says `partial`, so receivers handling the documented events hear of it.
 */
const transcodelyEventTypes: Record<WebhookEventType, string> = {
  "job.completed": "job.succeeded",
  "job.failed": "job.failed",
  "job.partial": "job.failed",
  "job.canceled": "job.canceled",
  // A Transcodely job cannot ask for every transition; were one to, it keeps the native name.
  "job.status_changed": "job.status_changed",
};

/** Transcodely's SDKs (`constructEvent`) require every envelope field here, `data` being the Job itself. */
const TRANSCODELY_API_VERSION = "2026-05-23";

async function hmacSha256Hex(key: string, text: string): Promise<string> {
  const encoder = new TextEncoder();
  const cryptoKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(text)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A format per dialect. Each body is built from the delivery (the job as it was at the
 * transition, its time), so every retry of a delivery sends the same job, its URLs signed afresh.
 */
const standard: Format = async (message, secret, at) => standardWebhook(message, JSON.stringify(message.payload), secret, at);

const formats: Partial<Record<WebhookDelivery["format"], Format>> = {
  standard,

  /** Ittybit's guides: the finished job, as its Get shows it, POSTed to `webhook_url`. Ittybit documents no signature, so Standard Webhooks signs it. */
  ittybit: async (message, secret, at) => standardWebhook(message, JSON.stringify(ittybitJob(message.payload.data as unknown as JobView)), secret, at),

  /**
   * Transcodely's event envelope, `Webhook-Id: evt_…` stable across retries, and
   * `Transcodely-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">` keyed with the
   * organization's webhook secret as its SDKs verify it.
   */
  transcodely: async (message, secret, at, { db }) => {
    const job = message.payload.data as unknown as JobView;
    const origins = await jobOrigins(db, message.org_id, job);
    const eventId = `evt_${message.delivery_id.slice("whd_".length)}`;
    const body = JSON.stringify({
      id: eventId,
      object: "event",
      api_version: TRANSCODELY_API_VERSION,
      created: message.payload.timestamp,
      type: transcodelyEventTypes[message.event_type],
      data: transcodelyJob(job, { signedUrls: true, origins }),
      pending_webhooks: 0,
      request: { id: null, idempotency_key: job.idempotency_key ?? null },
    });
    const t = Math.floor(at.getTime() / 1000);
    return { body, headers: { "webhook-id": eventId, "transcodely-signature": `t=${t},v1=${await hmacSha256Hex(secret, `${t}.${body}`)}` } };
  },

  /**
   * Clipzy's API reference: the envelope with the job's JobDetailResponse as `data`,
   * stamped with the transition's time so every retry sends the same bytes. Clipzy
   * documents no signature, so Standard Webhooks signs it.
   */
  clipzy: async (message, secret, at) => {
    const detail = clipzyJobDetail(message.payload.data as unknown as JobView);
    const body = JSON.stringify(envelope(`Job ${detail.status}`, detail, message.payload.timestamp));
    return standardWebhook(message, body, secret, at);
  },

  /**
   * VTK's `notify` callback (docs: Status): `{job_id, job_url, status}` when the job ends,
   * `status` being the job's integer code as its Get shows it. VTK documents no
   * signature, so Standard Webhooks signs it.
   */
  vtk: async (message, secret, at, { publicUrl }) => {
    const job = message.payload.data as unknown as JobView;
    const body = JSON.stringify({ job_id: job.id, job_url: vtkJobUrl(publicUrl, message.org_id, job.id), status: vtkJobStatus(job) });
    return standardWebhook(message, body, secret, at);
  },
};

/**
 * The request one attempt of `message` sends at `at`, signed with the organization's
 * current `secret`. A dialect without a format of its own delivers natively.
 */
export function deliveryRequest(message: WebhookDelivery, secret: string, at: Date, deployment: Deployment): Promise<DeliveryRequest> {
  return (formats[message.format] ?? standard)(message, secret, at, deployment);
}
