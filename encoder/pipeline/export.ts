import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { type ExportedFile, type OutputFacts, type WorkOrder, signResponseSchema } from "../contract";
import { PipelineError } from "../errors";
import { contentTypeOf } from "../media/content-types";

/** One output ready to export: its files, relative to the working dir. */
export interface MadeOutput {
  outputId: string;
  main: string;
  files: string[];
}

/** What export knows of an output; the media facts come from its verification. */
export type StoredOutput = Omit<OutputFacts, "duration_ms" | "width" | "height" | "codec">;

const UPLOAD_CONCURRENCY = 4;

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

async function describe(dir: string, file: string): Promise<ExportedFile> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path.join(dir, file), { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { path: file, content_type: contentTypeOf(file), size_bytes: size, sha256: hash.digest("hex") };
}

/**
 * Uploads every file of every output through URLs the Worker signs in one batch, so
 * the encoder never holds storage credentials, and returns what was stored.
 */
export async function exportOutputs(order: WorkOrder, dir: string, outputs: MadeOutput[], signal: AbortSignal): Promise<StoredOutput[]> {
  const described = await Promise.all(outputs.map(async (o) => ({ output: o, files: await Promise.all(o.files.map((f) => describe(dir, f))) })));
  const signRes = await fetch(order.export.sign_url, {
    method: "POST",
    headers: { authorization: `Bearer ${order.export.token}`, "content-type": "application/json" },
    body: JSON.stringify({
      job_id: order.job_id,
      attempt: order.attempt,
      files: described.flatMap(({ output, files }) => files.map((f) => ({ output_id: output.outputId, path: f.path, content_type: f.content_type, size_bytes: f.size_bytes }))),
    }),
    signal,
  }).catch((err: Error) => {
    throw signal.aborted ? new PipelineError("canceled", "The job was canceled") : new PipelineError("export_failed", `could not reach the signing endpoint: ${err.message}`);
  });
  if (!signRes.ok) throw new PipelineError("export_failed", `the signing endpoint answered ${signRes.status}`);
  const signed = signResponseSchema.safeParse(await signRes.json().catch(() => null));
  if (!signed.success) throw new PipelineError("export_failed", "the signing endpoint answered with something that is not a list of uploads");
  const urls = new Map(signed.data.uploads.map((u) => [u.path, u]));

  const queue = described.flatMap(({ files }) => files);
  const upload = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const target = urls.get(file.path);
      if (!target) throw new PipelineError("export_failed", `no upload URL was signed for ${file.path}`);
      const res = await fetch(target.url, {
        method: "PUT",
        headers: { ...target.headers, "content-type": file.content_type, "content-length": String(file.size_bytes) },
        body: Readable.toWeb(createReadStream(path.join(dir, file.path))) as ReadableStream,
        duplex: "half",
        signal,
      } as RequestInit).catch((err: Error) => {
        throw signal.aborted ? new PipelineError("canceled", "The job was canceled") : new PipelineError("export_failed", `upload of ${file.path} failed: ${err.message}`);
      });
      if (!res.ok) throw new PipelineError("export_failed", `upload of ${file.path} was answered ${res.status}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, upload));

  return described.map(({ output, files }) => {
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
