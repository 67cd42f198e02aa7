import { type StyleConfig, styleConfigSchema } from "../../../encoder/contract";
import { type CreateJobRequest, createJobRequestSchema } from "../../api/schemas/create-job";
import { invalidField, missingField, videoNotFound } from "./envelope";

/**
 * Clipzy's JobCreateRequest (seed 001): `{video_id, template_video_id?, config?,
 * webhook_url?}`, and the same fields of an upload's form. Fields set to null (or, in
 * a form, empty) count as absent, as Clipzy's pydantic models read them; any other
 * field is refused rather than ignored, so a misspelt template does not quietly make a
 * job without one. `config` is Kiln's documented reading of Clipzy's open object
 * (`styleConfigSchema`).
 */
export interface ClipzyJobRequest {
  video_id: string;
  template_video_id: string | null;
  config: StyleConfig | undefined;
  webhook_url: string | undefined;
}

const fields = ["video_id", "template_video_id", "config", "webhook_url"] as const;

/** Kiln's video ids (`vid_…`, an upload); anything else names no video here. */
const VIDEO_ID = /^vid_[a-z0-9]{1,64}$/;

function videoId(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalidField(field, "must be a string");
  if (!VIDEO_ID.test(value)) throw videoNotFound(value);
  return value;
}

function webhookUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalidField("webhook_url", "must be a string");
  return value;
}

function styleConfig(value: unknown): StyleConfig | undefined {
  if (value === undefined) return undefined;
  const parsed = styleConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const path = ["config", ...issue.path.map(String), ...keys.slice(0, 1)].join(".");
  throw invalidField(path, keys.length > 0 ? "not a config field; see the README's Clipzy config" : issue.message);
}

/** The JSON body of POST /api/v1/jobs, or the first problem in Clipzy's codes. */
export function parseJobRequest(body: unknown): ClipzyJobRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw invalidField("body", "a JSON object is required");
  const given = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
  const unknown = Object.keys(given).find((key) => !(fields as readonly string[]).includes(key));
  if (unknown !== undefined) throw invalidField(unknown, `not a field of a job; send ${fields.join(", ")}`);
  if (given.video_id === undefined || given.video_id === "") throw missingField("video_id");
  return {
    video_id: videoId(given.video_id, "video_id"),
    template_video_id: given.template_video_id === undefined ? null : videoId(given.template_video_id, "template_video_id"),
    config: styleConfig(given.config),
    webhook_url: webhookUrl(given.webhook_url),
  };
}

/** An upload form's optional job fields (text fields; empty ones are absent). */
export function parseUploadFields(form: FormData): Omit<ClipzyJobRequest, "video_id"> {
  const text = (name: string) => {
    const value = form.get(name) as File | string | null;
    if (value === null || value === "") return undefined;
    if (typeof value !== "string") throw invalidField(name, "must be a text field");
    return value;
  };
  const template = text("template_video_id");
  return { template_video_id: template === undefined ? null : videoId(template, "template_video_id"), config: undefined, webhook_url: text("webhook_url") };
}

/** The native style job the request stands for, checked by the native schema (its webhook URL). */
export function nativeRequest(request: ClipzyJobRequest): CreateJobRequest {
  const native = {
    input: request.video_id,
    style: { ...(request.template_video_id === null ? {} : { template: request.template_video_id }), ...(request.config ? { config: request.config } : {}) },
    ...(request.webhook_url === undefined ? {} : { webhook_url: request.webhook_url }),
  };
  const parsed = createJobRequestSchema.safeParse(native);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw invalidField(issue.path.map(String).join(".") || "body", issue.message);
}
