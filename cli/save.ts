import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Job, Kiln } from "../sdk/src/index";
import type { Output } from "./output";

const isPackage = (url: string) => /\.(m3u8|mpd)$/i.test(new URL(url).pathname);

/**
 * Downloads a finished job's outputs to `destination` with the SDK. One output: a file to
 * that path, a package (HLS, DASH) into that directory with every playlist and segment.
 * Several: `destination` is a directory, files under their own names, packages in a folder each.
 */
export async function saveOutputs(kiln: Kiln, job: Job, destination: string, out: Output): Promise<void> {
  const ready = job.outputs.filter((o) => o.status === "completed" && (o.output_url || o.manifest_url));
  if (ready.length > 1) await mkdir(destination, { recursive: true });
  for (const output of ready) {
    const url = (output.output_url ?? output.manifest_url)!;
    const target = ready.length === 1 ? destination : isPackage(url) ? path.join(destination, output.id) : destination;
    const saved = await kiln.download(output, target);
    const files = `${saved.files.length} file${saved.files.length === 1 ? "" : "s"}`;
    out.event("downloaded", { output_id: output.id, path: saved.path, files: saved.files.length, bytes: saved.bytes }, `saved ${output.id} to ${saved.path} (${files}, ${saved.bytes} bytes)`);
  }
}
