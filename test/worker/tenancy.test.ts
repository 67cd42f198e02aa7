import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { organizationUrn } from "../../worker/dialects/vtk/org";
import { newId } from "../../worker/ids";
import { media } from "./clipzy-media";
import { finishJob } from "./finished-job";
import { call, seedOrg, type TestOrg } from "./helpers";

/**
 * The tenancy matrix (issue 17): organization B's key against every route that names a
 * resource of organization A, in every front-end, plus the credentials that travel
 * without a key (watch tokens, signed storage and key URLs) carried to another job.
 *
 * Each row is one attempt. "deny" rows must be refused (401, 403 or 404, so not even a
 * 409 tells B that A's job exists); "own" rows are B acting on its own (a list, a
 * create) and must show nothing of A. Every response is also searched for A's marker,
 * a string in the names, inputs and metadata of all of A's resources that B never
 * sends. The routes are read from the Worker's own app, so a new route without a row
 * fails the suite.
 */

interface Fixture {
  a: TestOrg;
  b: TestOrg;
  marker: string;
  /** A's completed job with an AES-128 HLS output and an MP4. */
  done: { id: string; taskId: string; hlsId: string; mp4Id: string; mp4Url: string; hlsUrl: string; keyUrl: string };
  /** A's job still pending, for the actions (a 2xx would change it). */
  live: string;
  /** A's upload (POST /v1/uploads) and tus upload (its URL). */
  upload: string;
  tus: string;
  origin: string;
  secret: { id: string; name: string };
  preset: { id: string; slug: string };
  key2: string;
  webhookSecret: string;
  watchToken: string;
  bundle: string;
  clipzy: { video: string; job: string };
  /** B's own completed job, where A's URLs are carried. */
  bJob: { id: string; mp4Id: string; hlsId: string };
  cursor: string;
}

type Mode = "deny" | "own";
interface Attempt {
  path: string;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send without B's key (a token or signature is the credential). */
  keyless?: boolean;
  /** Raw body with its own content type (multipart, tus). */
  raw?: BodyInit;
}
interface Row {
  /** The route this row covers, as the app lists it: "METHOD /path/:param". */
  route: string;
  what: string;
  mode: Mode;
  attempt: (f: Fixture) => Attempt;
  /** Deny rows: the refusals that count (default 401, 403, 404). */
  refusals?: number[];
}

const A_TAG = "tenant-a-tag";
const h264 = [{ codec: "h264", resolution: "480p" }];
const connect = { "connect-protocol-version": "1" };
const vtkB = (f: Fixture, urn = organizationUrn(f.b.orgId)) => ({ "x-castlabs-organization": urn });
const aUrn = (f: Fixture) => organizationUrn(f.a.orgId);
const bUrn = (f: Fixture) => organizationUrn(f.b.orgId);
const tus = (extra: Record<string, string> = {}) => ({ "tus-resumable": "1.0.0", ...extra });
const vtkBody = () => ({ tasks: [{ tool: "storage:get", parameters: { location: "https://media.example.com/in/", files: ["a.mov"] } }, { tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "a.mov", "-frames:v", "1", "still.png"] } }] });

/** Swaps the job folder and file of a signed storage URL, keeping its signature. */
function carried(url: string, fromJob: string, toJob: string, toFile: string): string {
  const u = new URL(url);
  const at = u.pathname.indexOf(`/jobs/${fromJob}/`);
  u.pathname = `${u.pathname.slice(0, at)}/jobs/${toJob}/${toFile}`;
  return u.pathname + u.search;
}

const rows: Row[] = [
  // Native jobs.
  { route: "GET /v1/jobs/:id", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}` }) },
  { route: "GET /v1/jobs", what: "list", mode: "own", attempt: () => ({ path: "/v1/jobs?limit=100" }) },
  { route: "GET /v1/jobs", what: "list filtered by A's tag and status", mode: "own", attempt: () => ({ path: `/v1/jobs?tag=${A_TAG}&status=completed` }) },
  { route: "GET /v1/jobs", what: "list from A's cursor", mode: "own", attempt: (f) => ({ path: `/v1/jobs?cursor=${encodeURIComponent(f.cursor)}` }) },
  { route: "POST /v1/jobs", what: "A's upload as input", mode: "deny", refusals: [400, 404, 422], attempt: (f) => ({ path: "/v1/jobs", body: { input: f.upload, kind: "video", options: { format: "mp4" } } }) },
  { route: "POST /v1/jobs", what: "A's preset", mode: "deny", refusals: [404, 422], attempt: (f) => ({ path: "/v1/jobs", body: { input: "https://media.example.com/b.mp4", outputs: [{ preset: f.preset.slug }] } }) },
  { route: "POST /v1/jobs", what: "A's secret in an s3 URL", mode: "deny", refusals: [404, 422], attempt: (f) => ({ path: "/v1/jobs", body: { input: `s3://{${f.secret.name}}@bucket/in.mp4`, kind: "video", options: { format: "mp4" } } }) },
  { route: "POST /v1/jobs", what: "A's origin as output", mode: "deny", refusals: [400, 404, 422], attempt: (f) => ({ path: "/v1/jobs", body: { input: "https://media.example.com/b.mp4", kind: "video", options: { format: "mp4" }, output_origin_id: f.origin } }) },
  { route: "POST /v1/jobs", what: "A's origin as input", mode: "deny", refusals: [400, 404, 422], attempt: (f) => ({ path: "/v1/jobs", body: { input_origin_id: f.origin, input_path: "in.mp4", kind: "video", options: { format: "mp4" } } }) },
  { route: "POST /v1/jobs", what: "A's origin's bucket", mode: "deny", refusals: [400, 404, 422], attempt: (f) => ({ path: "/v1/jobs", body: { input: `s3://${f.marker}-bucket/in.mp4`, kind: "video", options: { format: "mp4" } } }) },
  { route: "POST /v1/jobs", what: "A's idempotency key", mode: "own", attempt: () => ({ path: "/v1/jobs", body: { input: "https://media.example.com/b.mp4", kind: "video", options: { format: "mp4" } }, headers: { "idempotency-key": "tenant-shared-key" } }) },
  { route: "POST /v1/jobs/:id/cancel", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.live}/cancel`, method: "POST" }) },
  { route: "POST /v1/jobs/:id/confirm", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.live}/confirm`, method: "POST" }) },
  { route: "POST /v1/jobs/:id/restart", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/restart`, method: "POST" }) },
  { route: "POST /v1/jobs/:id/resubmit", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/resubmit`, method: "POST" }) },
  { route: "GET /v1/jobs/:id/watch", what: "A's job, B's key", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/watch` }) },
  { route: "GET /v1/jobs/:id/watch", what: "A's job, B's key, WebSocket", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.live}/watch`, headers: { upgrade: "websocket" } }) },
  { route: "GET /v1/jobs/:id/watch", what: "A's watch token on B's job", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.bJob.id}/watch?token=${encodeURIComponent(f.watchToken)}`, keyless: true }) },
  { route: "GET /v1/jobs/:id/watch", what: "A's watch token on A's other job", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/watch?token=${encodeURIComponent(f.watchToken)}`, keyless: true }) },
  { route: "POST /v1/jobs/:id/watch-token", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/watch-token`, method: "POST" }) },
  { route: "GET /v1/jobs/:id/tasks/:task_id/log", what: "A's task", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/tasks/${f.done.taskId}/log` }) },
  { route: "GET /v1/jobs/:id/webhooks", what: "A's deliveries", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/webhooks` }) },
  { route: "GET /v1/jobs/:id/outputs/:outputId/key", what: "A's key, B's API key", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/outputs/${f.done.hlsId}/key` }) },
  { route: "POST /v1/jobs/:id/outputs/:outputId/key", what: "A's licence, B's API key", mode: "deny", attempt: (f) => ({ path: `/v1/jobs/${f.done.id}/outputs/${f.done.hlsId}/key`, method: "POST", body: {} }) },
  { route: "GET /v1/jobs/:id/outputs/:outputId/key", what: "A's key URL carried to B's job", mode: "deny", refusals: [403], attempt: (f) => { const u = new URL(f.done.keyUrl); return { path: u.pathname.replace(f.done.id, f.bJob.id).replace(f.done.hlsId, f.bJob.hlsId) + u.search, keyless: true }; } },
  // Keys and the webhook secret.
  { route: "POST /v1/keys", what: "a key for A's org", mode: "deny", refusals: [400, 403, 404, 422], attempt: (f) => ({ path: "/v1/keys", body: { name: "x", organization_ids: [f.a.orgId] } }) },
  { route: "POST /v1/keys", what: "B's own key", mode: "own", attempt: () => ({ path: "/v1/keys", body: { name: "b-own" } }) },
  { route: "GET /v1/keys", what: "list", mode: "own", attempt: () => ({ path: "/v1/keys" }) },
  { route: "DELETE /v1/keys/:id", what: "A's key", mode: "deny", attempt: (f) => ({ path: `/v1/keys/${f.key2}`, method: "DELETE" }) },
  { route: "GET /v1/webhooks/secret", what: "B's own secret", mode: "own", attempt: () => ({ path: "/v1/webhooks/secret" }) },
  { route: "POST /v1/webhooks/secret/rotate", what: "B's own secret", mode: "own", attempt: () => ({ path: "/v1/webhooks/secret/rotate", method: "POST" }) },
  // Uploads and tus.
  { route: "POST /v1/uploads", what: "B's own", mode: "own", attempt: () => ({ path: "/v1/uploads", body: { content_type: "video/mp4", filename: "b.mp4", max_bytes: 1024 } }) },
  { route: "GET /v1/uploads", what: "list", mode: "own", attempt: () => ({ path: "/v1/uploads" }) },
  { route: "GET /v1/uploads/:id", what: "A's upload", mode: "deny", attempt: (f) => ({ path: `/v1/uploads/${f.upload}` }) },
  { route: "DELETE /v1/uploads/:id", what: "A's upload", mode: "deny", attempt: (f) => ({ path: `/v1/uploads/${f.upload}`, method: "DELETE" }) },
  { route: "POST /v1/uploads/tus", what: "B's own", mode: "own", attempt: () => ({ path: "/v1/uploads/tus", method: "POST", headers: tus({ "upload-length": "10" }) }) },
  { route: "GET /v1/uploads/tus/:id", what: "HEAD of A's tus upload", mode: "deny", attempt: (f) => ({ path: f.tus, method: "HEAD", headers: tus() }) },
  { route: "GET /v1/uploads/tus/:id", what: "GET of A's tus upload", mode: "deny", refusals: [401, 403, 404, 405], attempt: (f) => ({ path: f.tus, headers: tus() }) },
  { route: "PATCH /v1/uploads/tus/:id", what: "A's tus upload", mode: "deny", attempt: (f) => ({ path: f.tus, method: "PATCH", headers: tus({ "upload-offset": "0", "content-type": "application/offset+octet-stream" }), raw: new Uint8Array(4) }) },
  { route: "POST /v1/uploads/tus/:id", what: "A's tus upload (method override)", mode: "deny", attempt: (f) => ({ path: f.tus, method: "POST", headers: tus({ "x-http-method-override": "PATCH", "upload-offset": "0", "content-type": "application/offset+octet-stream" }), raw: new Uint8Array(4) }) },
  { route: "DELETE /v1/uploads/tus/:id", what: "A's tus upload", mode: "deny", attempt: (f) => ({ path: f.tus, method: "DELETE", headers: tus() }) },
  // Origins, secrets, presets.
  { route: "POST /v1/origins", what: "A's origin's name and bucket", mode: "deny", refusals: [400, 422], attempt: (f) => ({ path: "/v1/origins", body: { name: f.marker, provider: "s3", bucket: "b", credentials: {} } }) },
  { route: "GET /v1/origins", what: "list", mode: "own", attempt: () => ({ path: "/v1/origins" }) },
  { route: "GET /v1/origins/:id", what: "A's origin", mode: "deny", attempt: (f) => ({ path: `/v1/origins/${f.origin}` }) },
  { route: "DELETE /v1/origins/:id", what: "A's origin", mode: "deny", attempt: (f) => ({ path: `/v1/origins/${f.origin}`, method: "DELETE" }) },
  { route: "POST /v1/secrets", what: "A's secret's name", mode: "own", attempt: (f) => ({ path: "/v1/secrets", body: { name: f.secret.name, credentials: { access_key_id: "AKIABBBBBBBBBBBBBBBB", secret_access_key: "b-secret" } } }) },
  { route: "GET /v1/secrets", what: "list", mode: "own", attempt: () => ({ path: "/v1/secrets" }) },
  { route: "GET /v1/secrets/:id", what: "A's secret", mode: "deny", attempt: (f) => ({ path: `/v1/secrets/${f.secret.id}` }) },
  { route: "DELETE /v1/secrets/:id", what: "A's secret", mode: "deny", attempt: (f) => ({ path: `/v1/secrets/${f.secret.id}`, method: "DELETE" }) },
  { route: "POST /v1/presets", what: "A's preset's slug", mode: "own", attempt: (f) => ({ path: "/v1/presets", body: { slug: f.preset.slug, output: { type: "mp4", video: h264 } } }) },
  { route: "GET /v1/presets", what: "list", mode: "own", attempt: () => ({ path: "/v1/presets" }) },
  { route: "GET /v1/presets/:id", what: "A's preset", mode: "deny", attempt: (f) => ({ path: `/v1/presets/${f.preset.id}` }) },
  { route: "DELETE /v1/presets/:id", what: "A's preset", mode: "deny", attempt: (f) => ({ path: `/v1/presets/${f.preset.id}`, method: "DELETE" }) },
  // Signed storage URLs carried to another job.
  { route: "GET /storage/*", what: "A's MP4 URL carried to B's MP4", mode: "deny", refusals: [403], attempt: (f) => ({ path: carried(f.done.mp4Url, f.done.id, f.bJob.id, `${f.bJob.mp4Id}.mp4`), keyless: true }) },
  { route: "GET /storage/*", what: "A's HLS URL carried to B's package", mode: "deny", refusals: [403], attempt: (f) => ({ path: carried(f.done.hlsUrl, f.done.id, f.bJob.id, `${f.bJob.hlsId}/master.m3u8`), keyless: true }) },
  { route: "PUT /storage/*", what: "A's MP4 URL as a PUT", mode: "deny", refusals: [403], attempt: (f) => ({ path: new URL(f.done.mp4Url).pathname + new URL(f.done.mp4Url).search, method: "PUT", raw: "x", keyless: true }) },
  // Ittybit.
  { route: "GET /jobs/:id", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/jobs/${f.done.id}` }) },
  { route: "POST /jobs/:id/cancel", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/jobs/${f.live}/cancel`, method: "POST" }) },
  { route: "GET /jobs", what: "list", mode: "own", attempt: () => ({ path: "/jobs" }) },
  { route: "POST /jobs", what: "A's upload as input", mode: "deny", refusals: [400, 404, 422], attempt: (f) => ({ path: "/jobs", body: { input: f.upload, kind: "video" } }) },
  // Transcodely.
  { route: "POST /transcodely.v1.JobService/Get", what: "A's job", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.JobService/Get", body: { id: f.done.id }, headers: connect }) },
  { route: "POST /transcodely.v1.JobService/Cancel", what: "A's job", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.JobService/Cancel", body: { id: f.live }, headers: connect }) },
  { route: "POST /transcodely.v1.JobService/Confirm", what: "A's job", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.JobService/Confirm", body: { id: f.live }, headers: connect }) },
  { route: "POST /transcodely.v1.JobService/Watch", what: "A's job", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.JobService/Watch", body: { id: f.live }, headers: connect }) },
  { route: "POST /transcodely.v1.JobService/List", what: "list", mode: "own", attempt: () => ({ path: "/transcodely.v1.JobService/List", body: {}, headers: connect }) },
  { route: "POST /transcodely.v1.JobService/Create", what: "A's origin and preset", mode: "deny", refusals: [400, 404], attempt: (f) => ({ path: "/transcodely.v1.JobService/Create", body: { input_url: "https://media.example.com/b.mp4", output_origin_id: f.origin, outputs: [{ preset: f.preset.id }] }, headers: connect }) },
  { route: "POST /transcodely.v1.OriginService/Get", what: "A's origin", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.OriginService/Get", body: { id: f.origin }, headers: connect }) },
  { route: "POST /transcodely.v1.OriginService/Validate", what: "A's origin", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.OriginService/Validate", body: { id: f.origin }, headers: connect }) },
  { route: "POST /transcodely.v1.OriginService/Archive", what: "A's origin", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.OriginService/Archive", body: { id: f.origin }, headers: connect }) },
  { route: "POST /transcodely.v1.OriginService/Update", what: "A's origin", mode: "deny", refusals: [404, 501], attempt: (f) => ({ path: "/transcodely.v1.OriginService/Update", body: { id: f.origin, name: "b" }, headers: connect }) },
  { route: "POST /transcodely.v1.OriginService/List", what: "list", mode: "own", attempt: () => ({ path: "/transcodely.v1.OriginService/List", body: {}, headers: connect }) },
  { route: "POST /transcodely.v1.OriginService/Create", what: "A's origin's name", mode: "deny", refusals: [400], attempt: (f) => ({ path: "/transcodely.v1.OriginService/Create", body: { name: f.marker }, headers: connect }) },
  { route: "POST /transcodely.v1.PresetService/Get", what: "A's preset", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.PresetService/Get", body: { id: f.preset.id }, headers: connect }) },
  { route: "POST /transcodely.v1.PresetService/GetBySlug", what: "A's slug", mode: "own", attempt: (f) => ({ path: "/transcodely.v1.PresetService/GetBySlug", body: { slug: f.preset.slug }, headers: connect }) },
  { route: "POST /transcodely.v1.PresetService/Duplicate", what: "A's preset", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.PresetService/Duplicate", body: { source_id: f.preset.id, slug: "b_copy", name: "b copy" }, headers: connect }) },
  { route: "POST /transcodely.v1.PresetService/Archive", what: "A's preset", mode: "deny", attempt: (f) => ({ path: "/transcodely.v1.PresetService/Archive", body: { id: f.preset.id }, headers: connect }) },
  { route: "POST /transcodely.v1.PresetService/Update", what: "A's preset", mode: "deny", refusals: [404, 501], attempt: (f) => ({ path: "/transcodely.v1.PresetService/Update", body: { id: f.preset.id, name: "b" }, headers: connect }) },
  { route: "POST /transcodely.v1.PresetService/List", what: "list", mode: "own", attempt: () => ({ path: "/transcodely.v1.PresetService/List", body: {}, headers: connect }) },
  { route: "POST /transcodely.v1.PresetService/Create", what: "A's slug", mode: "own", attempt: (f) => ({ path: "/transcodely.v1.PresetService/Create", body: { slug: `${f.preset.slug}_t`, name: "b", video: [{ codec: "h264", resolution: "480p" }], container: "mp4" }, headers: connect }) },
  // VTK: A's organization in the path with B's key, and A's resources under B's organization.
  { route: "GET /o/:org/jobs", what: "A's org", mode: "deny", attempt: (f) => ({ path: `/o/${aUrn(f)}/jobs`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jobs", what: "B's list", mode: "own", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs`, headers: vtkB(f) }) },
  { route: "POST /o/:org/jobs", what: "A's org", mode: "deny", attempt: (f) => ({ path: `/o/${aUrn(f)}/jobs`, body: vtkBody(), headers: vtkB(f) }) },
  { route: "POST /o/:org/jobs", what: "B's org with A's header", mode: "deny", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs`, body: vtkBody(), headers: vtkB(f, aUrn(f)) }) },
  { route: "GET /o/:org/jobs/:id", what: "A's job under B", mode: "deny", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs/${f.done.id}`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jobs/:id", what: "A's job under A", mode: "deny", attempt: (f) => ({ path: `/o/${aUrn(f)}/jobs/${f.done.id}`, headers: vtkB(f) }) },
  { route: "POST /o/:org/jobs/:id", what: "abort A's job", mode: "deny", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs/${f.live}?action=abort`, method: "POST", headers: vtkB(f) }) },
  { route: "POST /o/:org/jobs/:id", what: "resubmit A's job", mode: "deny", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs/${f.done.id}?action=resubmit`, method: "POST", headers: vtkB(f) }) },
  { route: "GET /o/:org/jobs/:id/metrics", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs/${f.done.id}/metrics`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jobs/:id/tasks", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs/${f.done.id}/tasks`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jobs/:id/tasks/:task", what: "A's task", mode: "deny", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs/${f.done.id}/tasks/${f.done.taskId}`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jobs/:id/tasks/:task/log", what: "A's task log", mode: "deny", attempt: (f) => ({ path: `/o/${bUrn(f)}/jobs/${f.done.id}/tasks/${f.done.taskId}/log`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jb", what: "A's bundles", mode: "deny", attempt: (f) => ({ path: `/o/${aUrn(f)}/jb`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jb", what: "B's bundles", mode: "own", attempt: (f) => ({ path: `/o/${bUrn(f)}/jb`, headers: vtkB(f) }) },
  { route: "POST /o/:org/jb", what: "a bundle in A's org", mode: "deny", attempt: (f) => ({ path: `/o/${aUrn(f)}/jb`, body: { name: "b-bundle" }, headers: vtkB(f) }) },
  { route: "POST /o/:org/jb", what: "A's bundle name in B's org", mode: "own", attempt: (f) => ({ path: `/o/${bUrn(f)}/jb`, body: { name: f.bundle }, headers: vtkB(f) }) },
  { route: "GET /o/:org/jb/:name", what: "A's bundle", mode: "deny", attempt: (f) => ({ path: `/o/${aUrn(f)}/jb/${f.bundle}`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jb/:name/jobs", what: "A's bundle's jobs", mode: "deny", attempt: (f) => ({ path: `/o/${aUrn(f)}/jb/${f.bundle}/jobs`, headers: vtkB(f) }) },
  { route: "GET /o/:org/jb/:name/jobs", what: "A's bundle name under B", mode: "own", attempt: (f) => ({ path: `/o/${bUrn(f)}/jb/${f.bundle}/jobs`, headers: vtkB(f) }) },
  { route: "POST /o/:org/jb/:name/jobs", what: "a job in A's bundle", mode: "deny", attempt: (f) => ({ path: `/o/${aUrn(f)}/jb/${f.bundle}/jobs`, body: vtkBody(), headers: vtkB(f) }) },
  // Clipzy.
  { route: "GET /api/v1/jobs/:id", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/api/v1/jobs/${f.clipzy.job}` }) },
  { route: "GET /api/v1/jobs/:id/result", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/api/v1/jobs/${f.clipzy.job}/result` }) },
  { route: "POST /api/v1/jobs/:id/cancel", what: "A's job", mode: "deny", attempt: (f) => ({ path: `/api/v1/jobs/${f.clipzy.job}/cancel`, method: "POST" }) },
  { route: "GET /api/v1/videos/info/:video_id", what: "A's video", mode: "deny", attempt: (f) => ({ path: `/api/v1/videos/info/${f.clipzy.video}` }) },
  { route: "GET /api/v1/jobs", what: "list", mode: "own", attempt: () => ({ path: "/api/v1/jobs" }) },
  { route: "POST /api/v1/jobs", what: "A's video as source", mode: "deny", refusals: [404, 422], attempt: (f) => ({ path: "/api/v1/jobs", body: { video_id: f.clipzy.video, template_video_id: f.clipzy.video } }) },
  { route: "POST /api/v1/videos/upload", what: "A's video as template", mode: "deny", refusals: [404, 422], attempt: (f) => { const form = new FormData(); form.append("file", new File([media.mp4()], "b.mp4")); form.append("template_video_id", f.clipzy.video); return { path: "/api/v1/videos/upload", method: "POST", raw: form }; } },
];

/** Routes no organization's key reaches: public, or authorised by a lease token (lease.test.ts). */
const keyless = new Set(["GET /health", "GET /v1/openapi.json", "GET /docs", "GET /docs/openapi.json", "GET /api/v1/health", "POST /internal/jobs/:id/events", "POST /internal/jobs/:id/sign", "POST /internal/jobs/:id/multipart/complete", "POST /internal/jobs/:id/multipart/abort"]);

async function fixture(): Promise<Fixture> {
  const a = await seedOrg();
  const b = await seedOrg();
  const marker = `tenant-a-${crypto.randomUUID().slice(0, 8)}`;
  const as = (path: string, options: Parameters<typeof call>[1] = {}) => call(path, { key: a.key, ...options });
  const ok = <T extends { status: number; text: string; json: any }>(res: T, status = 201) => {
    expect(res.status, res.text).toBe(status);
    return res.json;
  };

  const upload = ok(await as("/v1/uploads", { body: { content_type: "video/mp4", filename: `${marker}.mp4`, max_bytes: 1024 } })).id as string;
  const tusRes = await exports.default.fetch(new Request("https://kiln.test/v1/uploads/tus", { method: "POST", headers: { authorization: `Bearer ${a.key}`, ...tus({ "upload-length": "100", "upload-metadata": `filename ${btoa(`${marker}.mp4`)}` }) } }));
  expect(tusRes.status).toBe(201);
  const tusPath = new URL(tusRes.headers.get("location")!, "https://kiln.test").pathname;
  const secret = ok(await as("/v1/secrets", { body: { name: `shared-${marker.slice(-8)}`, credentials: { access_key_id: "AKIAAAAAAAAAAAAAAAAA", secret_access_key: `${marker}-secret` } } }));
  const preset = ok(await as("/v1/presets", { body: { slug: `a_${marker.slice(-8)}`, name: marker, output: { type: "mp4", video: h264 } } }));
  const key2 = ok(await as("/v1/keys", { body: { name: marker } })).id as string;
  const origin = newId("ori");
  await env.DB.prepare("INSERT INTO origins (id, org_id, name, provider, bucket, path, region, endpoint, permissions, credentials, created_at) VALUES (?, ?, ?, 's3', ?, NULL, 'auto', NULL, '[\"read\"]', 'sealed', ?)")
    .bind(origin, a.orgId, marker, `${marker}-bucket`, new Date().toISOString())
    .run();
  const webhookSecret = ok(await as("/v1/webhooks/secret"), 200).secret as string;

  const jobBody = (input: string) => ({ input, tags: [A_TAG], metadata: { owner: marker }, outputs: [{ type: "hls", video: h264, drm: { scheme: "aes-128" } }, { type: "mp4", video: h264 }] });
  const doneJob = ok(await as("/v1/jobs", { body: jobBody(`https://media.example.com/${marker}.mp4`), headers: { "idempotency-key": "tenant-shared-key" } }));
  await finishJob(doneJob.id);
  const done = ok(await as(`/v1/jobs/${doneJob.id}`), 200);
  const live = ok(await as("/v1/jobs", { body: { ...jobBody(`https://media.example.com/${marker}-live.mp4`), delayed_start: true } })).id as string;
  const watchToken = ok(await as(`/v1/jobs/${live}/watch-token`, { method: "POST" })).token as string;
  const cursor = ok(await as("/v1/jobs?limit=1"), 200).next_cursor as string;

  const vtkA = { "x-castlabs-organization": organizationUrn(a.orgId) };
  const bundle = `${marker}-jb`;
  ok(await as(`/o/${organizationUrn(a.orgId)}/jb`, { body: { name: bundle }, headers: vtkA }));

  const form = new FormData();
  form.append("file", new File([media.mp4()], `${marker}.mp4`));
  const clip = await exports.default.fetch(new Request("https://kiln.test/api/v1/videos/upload", { method: "POST", headers: { authorization: `Bearer ${a.key}` }, body: form }));
  const clipData = ((await clip.json()) as { data: { video_id: string; job_id: string } }).data;
  expect(clip.status).toBe(201);

  const bCreated = (await call("/v1/jobs", { key: b.key, body: { input: "https://media.example.com/b.mp4", outputs: [{ type: "hls", video: h264, drm: { scheme: "aes-128" } }, { type: "mp4", video: h264 }] } })).json;
  await finishJob(bCreated.id);
  for (const file of [`${bCreated.outputs[1].id}.mp4`, `${bCreated.outputs[0].id}/master.m3u8`]) await env.MEDIA.put(`jobs/${bCreated.id}/${file}`, "b's bytes");

  return {
    a,
    b,
    marker,
    done: { id: done.id, taskId: done.tasks[0].id, hlsId: done.outputs[0].id, mp4Id: done.outputs[1].id, hlsUrl: done.outputs[0].output_url, mp4Url: done.outputs[1].output_url, keyUrl: done.outputs[0].drm.key_url },
    live,
    upload,
    tus: tusPath,
    origin,
    secret: { id: secret.id, name: secret.name },
    preset: { id: preset.id, slug: preset.slug },
    key2,
    webhookSecret,
    watchToken,
    bundle,
    clipzy: { video: clipData.video_id, job: clipData.job_id },
    bJob: { id: bCreated.id, hlsId: bCreated.outputs[0].id, mp4Id: bCreated.outputs[1].id },
    cursor,
  };
}

async function attempt(f: Fixture, row: Row) {
  const a = row.attempt(f);
  const headers: Record<string, string> = { ...a.headers };
  if (!a.keyless) headers.authorization = `Bearer ${f.b.key}`;
  let body: BodyInit | undefined = a.raw;
  if (a.body !== undefined) {
    body = JSON.stringify(a.body);
    headers["content-type"] ??= "application/json";
  }
  const request = new Request(`https://kiln.test${a.path}`, { method: a.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const response = await exports.default.fetch(request);
  const text = response.headers.get("upgrade") || response.status === 101 ? "" : await response.text();
  response.webSocket?.accept();
  response.webSocket?.close();
  const formFields = a.raw instanceof FormData ? [...a.raw.values()].filter((v) => typeof v === "string") : [];
  const sent = `${a.path} ${JSON.stringify(a.body ?? "")} ${formFields.join(" ")}`;
  // A's data in a response is a leak unless B itself sent it (a 404 may echo the id or name asked for).
  const aOwns = [f.marker, f.webhookSecret, f.done.id, f.live, f.upload, f.origin, f.secret.id, f.preset.id, f.key2, f.clipzy.video, f.clipzy.job];
  const shown = aOwns.some((secret) => text.includes(secret) && !sent.includes(secret));
  return { status: response.status, text, shown };
}

describe("tenancy matrix: org B's key against org A's resources", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  }, 60_000);

  it("has a row for every route that takes an organization's credential", () => {
    const listed = new Set(app.routes.filter((r) => r.method !== "ALL" && r.method !== "OPTIONS").map((r) => `${r.method} ${r.path}`));
    const covered = new Set(rows.map((r) => r.route));
    const missing = [...listed].filter((route) => !keyless.has(route) && !covered.has(route));
    expect(missing, "routes without a tenancy row").toEqual([]);
    const stale = [...covered].filter((route) => !listed.has(route));
    expect(stale, "rows for routes the app no longer has").toEqual([]);
  });

  it("lets none of B's attempts succeed", async () => {
    const failures: string[] = [];
    let succeeded = 0;
    for (const row of rows) {
      const res = await attempt(f, row);
      const refused = (row.refusals ?? [401, 403, 404]).includes(res.status);
      const success = row.mode === "deny" ? !refused && res.status < 500 : false;
      if (success || res.shown) succeeded++;
      if ((row.mode === "deny" && !refused) || res.shown || (res.status >= 500 && !refused)) failures.push(`${row.route} (${row.what}): ${res.status}${res.shown ? ", shows A's data" : ""} ${res.text.slice(0, 200)}`);
    }
    console.log(`figures: tenancy ${rows.length} cross-org attempts, ${succeeded} succeeded`);
    expect(failures).toEqual([]);
    expect(succeeded).toBe(0);
  }, 120_000);

  it("left every one of A's resources as it was", async () => {
    const as = (path: string) => call(path, { key: f.a.key });
    expect((await as(`/v1/jobs/${f.live}`)).json.status).toBe("pending");
    expect((await as(`/v1/jobs/${f.done.id}`)).json.status).toBe("completed");
    for (const path of [`/v1/uploads/${f.upload}`, `/v1/origins/${f.origin}`, `/v1/secrets/${f.secret.id}`, `/v1/presets/${f.preset.id}`, `/api/v1/jobs/${f.clipzy.job}`]) {
      expect((await as(path)).status, path).toBe(200);
    }
    expect((await as("/v1/keys")).json.data.find((k: { id: string }) => k.id === f.key2).revoked_at).toBeNull();
    expect((await as("/v1/webhooks/secret")).json.secret).toBe(f.webhookSecret);
    // B's reuse of A's idempotency key made B's own job, not a reply with A's.
    const bJobs = (await call("/v1/jobs?limit=100", { key: f.b.key })).json.data as { id: string }[];
    expect(bJobs.some((j) => j.id === f.done.id)).toBe(false);
  });
});
