import { and, eq, isNull, ne, or } from "drizzle-orm";
import type { InputMetadata, ProbeResponse } from "../../encoder/contract";
import { uploads } from "../db/schema";
import { probeOnEncoder } from "../dispatch/encoder-client";
import type { Env } from "../env";
import type { ProbeMessage } from "../queue/probe-message";
import { signStorageUrl } from "../storage/signed-urls";
import { MAX_UPLOAD_BYTES, findUpload, orm } from "./store";

/** How long the encoder has to start reading the upload it probes. */
const PROBE_URL_TTL_SECONDS = 3600;

export type ProbeUploadOutcome = "probed" | "skipped" | "busy" | "unreachable";

/**
 * Has the encoder probe a ready upload (import through a signed GET URL, ffprobe) and
 * records what it found: the media facts, or why the file is not usable media. An
 * upload that is gone, not ready, or already probed is skipped; `busy` and
 * `unreachable` ask the queue consumer to try again later.
 */
export async function probeUpload(env: Env, message: ProbeMessage): Promise<ProbeUploadOutcome> {
  const row = await findUpload(env.DB, message.org_id, message.upload_id);
  if (!row || row.status !== "ready" || row.probeStatus === "completed" || row.probeStatus === "failed") return "skipped";
  const url = await signStorageUrl(env, { method: "GET", key: row.key, expiresInSeconds: PROBE_URL_TTL_SECONDS }, env.PUBLIC_URL.replace(/\/+$/, ""));
  const outcome = await probeOnEncoder(env, row.id, { v: 1, url, limits: { max_input_bytes: MAX_UPLOAD_BYTES } });
  if (outcome.kind === "busy") return "busy";
  if (outcome.kind === "unreachable") {
    console.error(JSON.stringify({ level: "error", upload_id: row.id, message: `probe failed: ${outcome.reason}` }));
    return "unreachable";
  }
  await recordProbe(env.DB, row.id, outcome.result);
  return "probed";
}

/** Stores a probe's verdict on a ready upload that has none yet. */
async function recordProbe(db: D1Database, uploadId: string, result: ProbeResponse): Promise<void> {
  const at = new Date().toISOString();
  const patch = result.ok
    ? { probeStatus: "completed" as const, probeMetadata: result.metadata, probeErrorCode: null, probeErrorMessage: null, probedAt: at }
    : { probeStatus: "failed" as const, probeMetadata: null, probeErrorCode: result.error.code, probeErrorMessage: result.error.message, probedAt: at };
  await orm(db)
    .update(uploads)
    .set(patch)
    .where(and(eq(uploads.id, uploadId), eq(uploads.status, "ready"), or(isNull(uploads.probeStatus), eq(uploads.probeStatus, "pending"))));
}

/**
 * A job whose input is this upload probed it on its way to encoding: its facts are as
 * good as the probe's, so an upload without facts (still pending, or a probe that
 * failed for a reason the job got past) takes them.
 */
export async function recordProbeFromJob(db: D1Database, orgId: string, uploadId: string, metadata: InputMetadata): Promise<void> {
  await orm(db)
    .update(uploads)
    .set({ probeStatus: "completed", probeMetadata: metadata, probeErrorCode: null, probeErrorMessage: null, probedAt: new Date().toISOString() })
    .where(and(eq(uploads.id, uploadId), eq(uploads.orgId, orgId), eq(uploads.status, "ready"), or(isNull(uploads.probeStatus), ne(uploads.probeStatus, "completed"))));
}
