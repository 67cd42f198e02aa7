import { keyProblem } from "../storage/keys";
import { pathTemplateProblem, renderPathTemplate, samplePathTemplateValues } from "../api/schemas/path-template";
import type { OriginProvider } from "./store";
import { bucketProblem } from "./validation";

/**
 * Bucket locations as jobs write them: `s3://bucket/key`, `gs://bucket/key`,
 * `r2://bucket/key`, optionally naming an org secret for the credentials in VTK's form
 * `s3://{secret-name}@bucket/key`. Without a secret, the org's origin for that bucket
 * supplies them.
 */
export const bucketSchemes = ["s3", "gs", "r2"] as const;
export type BucketScheme = (typeof bucketSchemes)[number];

export interface BucketUri {
  scheme: BucketScheme;
  /** The org secret named in `{…}@`, or null when an origin supplies the credentials. */
  secret: string | null;
  bucket: string;
  /** Everything after `bucket/`, as written ("" for the bucket's root). */
  key: string;
}

/** Secret names: what fits between the braces of `s3://{name}@bucket/`. */
export const SECRET_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const URI = /^(s3|gs|r2):\/\/(?:\{([^}]*)\}@)?([^/]*)(?:\/(.*))?$/s;

export const isBucketUri = (text: string): boolean => /^(?:s3|gs|r2):\/\//.test(text);

/** Which origin providers serve a scheme: s3:// is the protocol, so R2 buckets answer to it too. */
export function providersFor(scheme: BucketScheme): readonly OriginProvider[] {
  return scheme === "gs" ? ["gcs"] : scheme === "r2" ? ["r2"] : ["s3", "r2"];
}

/** The provider a secret's credentials are used with for a scheme. */
export const providerOf = (scheme: BucketScheme): OriginProvider => (scheme === "gs" ? "gcs" : scheme === "r2" ? "r2" : "s3");

export const schemeOf = (provider: OriginProvider): BucketScheme => (provider === "gcs" ? "gs" : provider === "r2" ? "r2" : "s3");

export function formatBucketUri(scheme: BucketScheme, bucket: string, key: string): string {
  return `${scheme}://${bucket}/${key}`;
}

type Parsed = { ok: true; uri: BucketUri } | { ok: false; problem: string };

function parse(text: string): Parsed {
  const match = URI.exec(text);
  if (!match) return { ok: false, problem: "not an s3://, gs:// or r2:// location" };
  const [, scheme, secret, bucket, key] = match as unknown as [string, BucketScheme, string | undefined, string, string | undefined];
  if (secret !== undefined && !SECRET_NAME.test(secret)) return { ok: false, problem: "the secret name between { } is 1–64 letters, digits, _ or -" };
  const bucketIssue = bucketProblem(providerOf(scheme), bucket);
  if (bucketIssue) return { ok: false, problem: `bucket ${JSON.stringify(bucket)}: ${bucketIssue}` };
  return { ok: true, uri: { scheme, secret: secret ?? null, bucket, key: key ?? "" } };
}

/** An input names one object: `scheme://[{secret}@]bucket/key`, the key non-empty and not a folder. */
export function parseInputUri(text: string): Parsed {
  const parsed = parse(text);
  if (!parsed.ok) return parsed;
  const { key } = parsed.uri;
  if (key === "") return { ok: false, problem: "names no object: give scheme://bucket/key" };
  if (key.endsWith("/")) return { ok: false, problem: "names a folder (ends in /); an input is one object" };
  const problem = keyProblem(key);
  return problem ? { ok: false, problem } : parsed;
}

/**
 * An output is a folder (`scheme://bucket/prefix/`, or the bucket's root) or, for a job
 * with one single-file output, an exact key (`scheme://bucket/key.mp4`). Both may hold
 * path-template variables, rendered at export (`s3://{creds}@bucket/out/{job_id}/`).
 */
export function parseOutputUri(text: string): Parsed {
  const parsed = parse(text);
  if (!parsed.ok) return parsed;
  const { key } = parsed.uri;
  if (key === "") return parsed;
  const templateIssue = pathTemplateProblem(key);
  if (templateIssue) return { ok: false, problem: templateIssue };
  const problem = keyProblem(renderPathTemplate(key.replace(/\/$/, ""), samplePathTemplateValues));
  return problem ? { ok: false, problem } : parsed;
}

/**
 * A tool pipeline's `location`: a folder of a bucket (`scheme://[{secret}@]bucket/path/`,
 * a missing final / implied) whose files the task names. `{job_id}` is its one
 * variable, substituted when the job runs (toolLocationKey).
 */
export function parseToolLocation(text: string): Parsed {
  const parsed = parse(text);
  if (!parsed.ok) return parsed;
  const written = parsed.uri.key;
  const key = written === "" || written.endsWith("/") ? written : `${written}/`;
  for (const [, name] of key.matchAll(/\{([^}]*)\}/g)) {
    if (name !== "job_id") return { ok: false, problem: `unknown variable {${name}}; a location may hold {job_id}` };
  }
  const problem = key === "" ? null : keyProblem(toolLocationKey(key, samplePathTemplateValues.job_id).slice(0, -1));
  return problem ? { ok: false, problem } : { ok: true, uri: { ...parsed.uri, key } };
}

export const toolLocationKey = (folder: string, jobId: string): string => folder.replaceAll("{job_id}", jobId);

/** True when an output location names a folder rather than one object. */
export const isFolderKey = (key: string): boolean => key === "" || key.endsWith("/");
