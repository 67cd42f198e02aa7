import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { type ExportedFile, type OutputFacts, type SignRequestInput, type SignResponse, type WorkOrder, signResponseSchema } from "../contract";
import { PipelineError } from "../errors";
import { contentTypeOf } from "../media/content-types";
import type { NetworkAccess } from "../net/guarded-fetch";
import { createLimiter, postJson, putRange, uploadInParts, uploadNetwork } from "./upload";

/** One output ready to export: its files, relative to the working dir. */
export interface MadeOutput {
  outputId: string;
  main: string;
  files: string[];
  /** Files a progressive publish stored already, with the SHA-256 of the bytes it stored. */
  published?: ReadonlyMap<string, string>;
}

/** What export knows of an output; the media facts come from its verification. */
export type StoredOutput = Omit<OutputFacts, "duration_ms" | "width" | "height" | "codec">;

const UPLOAD_CONCURRENCY = 4;
/** Signing a large export writes a row per multipart upload: it may take a while. */
const SIGN_TIMEOUT_MS = 60_000;

/** Every file under `rel` (a file, or a directory such as an HLS package), relative to `dir`. */
export async function listFiles(dir: string, rel: string): Promise<string[]> {
  const info = await stat(path.join(dir, rel));
  if (!info.isDirectory()) return [rel];
  const entries = await readdir(path.join(dir, rel), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

export type FileToStore = Omit<ExportedFile, "sha256">;

export async function describe(dir: string, file: string): Promise<FileToStore> {
  return { path: file, content_type: contentTypeOf(file), size_bytes: (await stat(path.join(dir, file))).size };
}

/** Playlists and manifests name the other files: they are stored after them, so a reader never meets a name that is not there yet. */
export const isManifest = (file: string) => /\.(m3u8|mpd)$/.test(file);

export async function sha256Of(dir: string, file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path.join(dir, file), { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Uploads every file of every output through URLs the Worker signs in one batch, so
 * the encoder never holds storage credentials, and returns what was stored. A file is
 * hashed as it is uploaded, read once. A large file may come back with a multipart
 * plan: its parts are uploaded (sharing the export's concurrency with everything else)
 * while it is hashed, and the Worker assembles them. The first failure stops the other
 * uploads and fails the export. Playlists and manifests go last (isManifest), and what
 * a progressive publish already stored unchanged is not sent again. Upload URLs can be
 * presigned on a user's endpoint: they reach only what `network` allows.
 */
export async function exportOutputs(order: WorkOrder, dir: string, outputs: MadeOutput[], signal: AbortSignal, network: NetworkAccess): Promise<StoredOutput[]> {
  const described = await Promise.all(outputs.map(async (o) => ({ output: o, files: await Promise.all(o.files.map((f) => describe(dir, f))) })));
  // What a progressive publish stored byte for byte is not sent again (its segments);
  // what changed since (the playlists, made final) is.
  const digests = new Map<string, string>();
  const checks = described.flatMap(({ output }) => [...(output.published ?? [])].filter(([file]) => output.files.includes(file)));
  const hashing = createLimiter(UPLOAD_CONCURRENCY);
  await Promise.all(checks.map(([file, sent]) => hashing(async () => {
    if ((await sha256Of(dir, file)) === sent) digests.set(file, sent);
  })));
  const toSend = described.flatMap(({ output, files }) => files.filter((f) => !digests.has(f.path)).map((f) => ({ output, file: f })));
  const plans = toSend.length === 0 ? new Map<string, SignedUpload>() : await signUploads(order, toSend.map(({ output, file }) => ({ outputId: output.outputId, file })), { multipart: true, signal });

  // One failure stops the rest: the working directory is about to go.
  const stop = new AbortController();
  const uploadSignal = AbortSignal.any([signal, stop.signal]);
  const limit = createLimiter(UPLOAD_CONCURRENCY);
  const guarded = uploadNetwork(network, order.limits);
  const uploadOne = async (file: FileToStore): Promise<string> => {
    const plan = plans.get(file.path);
    if (!plan) throw new PipelineError("export_failed", `no upload URL was signed for ${file.path}`);
    if (plan.kind === "multipart") {
      const [, sha256] = await Promise.all([uploadInParts(order, dir, file, plan, limit, uploadSignal, guarded), sha256Of(dir, file.path)]);
      return sha256;
    }
    const target = { url: plan.url, headers: plan.headers, offset: 0, size: file.size_bytes, contentType: file.content_type };
    const { sha256 } = await limit(() => putRange(dir, file.path, target, file.path, uploadSignal, guarded, { hash: true }));
    return sha256!;
  };
  const upload = (files: FileToStore[]) =>
    Promise.allSettled(
      files.map((file) =>
        uploadOne(file).then(
          (sha256) => void digests.set(file.path, sha256),
          (err) => {
            stop.abort();
            throw err;
          },
        ),
      ),
    );
  const files = toSend.map(({ file }) => file);
  const results = await upload(files.filter((f) => !isManifest(f.path)));
  if (!results.some((r) => r.status === "rejected")) results.push(...(await upload(files.filter((f) => isManifest(f.path)))));
  if (signal.aborted) throw new PipelineError("canceled", "The job was canceled");
  // The first real failure, not the cancellations it caused in the other uploads.
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  const failure = failures.find((err) => (err as PipelineError).code !== "canceled") ?? failures[0];
  if (failure) throw failure;

  return described.map(({ output, files: toStore }) => {
    const files = toStore.map((f) => ({ ...f, sha256: digests.get(f.path)! }));
    const main = files.find((f) => f.path === output.main) ?? files[0]!;
    return {
      output_id: output.outputId,
      main: output.main,
      files,
      size_bytes: files.reduce((sum, f) => sum + f.size_bytes, 0),
      sha256: main.sha256,
    };
  });
}

export type SignedUpload = SignResponse["uploads"][number];

/**
 * Upload plans for `files`, by path, from the Worker's signing route (one request).
 * A put that may not overwrite is refused when its object is there: `object_exists`.
 */
export async function signUploads(
  order: WorkOrder,
  files: { outputId: string; file: FileToStore }[],
  options: { multipart: boolean; signal: AbortSignal },
): Promise<Map<string, SignedUpload>> {
  const { signal } = options;
  const request: SignRequestInput = {
    job_id: order.job_id,
    attempt: order.attempt,
    multipart: options.multipart,
    files: files.map(({ outputId, file: f }) => ({ output_id: outputId, path: f.path, content_type: f.content_type, size_bytes: f.size_bytes })),
  };
  const signRes = await postJson(order.export.sign_url, order.export.token, request, SIGN_TIMEOUT_MS, signal).catch((err: Error) => {
    throw err instanceof PipelineError ? err : new PipelineError("export_failed", `could not reach the signing endpoint: ${err.message}`);
  });
  if (!signRes.ok) {
    // A put that may not overwrite is refused by the signer when an object is there: the user's failure, told as such.
    const refusal = (await signRes.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (signRes.status === 409 && refusal?.error?.code === "object_exists") throw new PipelineError("object_exists", refusal.error.message ?? "the object exists");
    throw new PipelineError("export_failed", `the signing endpoint answered ${signRes.status}`);
  }
  const signed = signResponseSchema.safeParse(await signRes.json().catch(() => null));
  if (!signed.success) throw new PipelineError("export_failed", "the signing endpoint answered with something that is not a list of uploads");
  return new Map(signed.data.uploads.map((u) => [u.path, u]));
}
