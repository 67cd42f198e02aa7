import { stat } from "node:fs/promises";
import { FileResumeStore, type Kiln, type Upload } from "../sdk/src/index";
import type { Config } from "./config";
import { Interrupted } from "./interrupted";
import type { Output } from "./output";
import { Bars } from "./progress";
import { UsageError } from "./usage-error";

export interface UploadOptions {
  chunkSize?: number;
  signal: AbortSignal;
}

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/**
 * Uploads a local file with tus under a progress bar. The upload's URL is remembered in the
 * resume file as soon as the server makes it, so after Ctrl-C the same command resumes from
 * the server's offset; a finished upload is forgotten.
 */
export async function uploadFile(kiln: Kiln, config: Config, file: string, out: Output, options: UploadOptions): Promise<Upload> {
  const size = await stat(file).then(
    (s) => s.size,
    () => {
      throw new UsageError(`no such file: ${file}`);
    },
  );
  // The bar starts with the first byte, so a line about resuming (said before it) is not drawn over.
  const bars = new Bars(!out.json);
  let sent = 0;
  let reported = -1;
  try {
    const { upload } = await kiln.uploads.tus(file, {
      store: new FileResumeStore(config.resumeFile),
      chunkSize: options.chunkSize,
      signal: options.signal,
      onResume: (offset) => out.event("upload_resumed", { resumed_from: offset, bytes_total: size }, `resuming upload of ${file} from byte ${offset} of ${size}`),
      onProgress: (bytes, total) => {
        sent = bytes;
        bars.bar("upload", "upload", total).update(bytes, { detail: `${megabytes(bytes)} / ${megabytes(total)}` });
        // Scripts get a line per tenth, not one per chunk.
        const tenth = Math.floor((bytes / total) * 10);
        if (out.json && tenth > reported) {
          reported = tenth;
          out.event("upload_progress", { bytes_sent: bytes, bytes_total: total }, "");
        }
      },
    });
    bars.stop();
    out.event("uploaded", { upload_id: upload.id, size_bytes: upload.size_bytes }, `uploaded ${file} as ${upload.id}`);
    return upload;
  } catch (error) {
    bars.stop();
    if (!options.signal.aborted) throw error;
    out.event("upload_interrupted", { bytes_sent: sent, bytes_total: size }, `upload interrupted at ${sent} of ${size} bytes; run the same command again to resume`);
    throw new Interrupted();
  }
}
