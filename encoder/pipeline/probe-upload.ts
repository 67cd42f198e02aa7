import { randomUUID } from "node:crypto";
import path from "node:path";
import { type ProbeRequest, type ProbeResponse, type UploadProbeFailureCode, uploadProbeFailureCodes } from "../contract";
import { PipelineError } from "../errors";
import { probeFile } from "../ffmpeg/probe";
import { type TestNetwork, networkAccess } from "../net/guarded-fetch";
import { importInput } from "./import";
import { withWorkDir } from "./workdir";

export interface ProbeRuntime {
  allowPrivateNetworks: boolean;
  /** TEST-ONLY, as JobRuntime's. */
  testNetwork?: TestNetwork;
  ffprobe?: string;
  signal?: AbortSignal;
}

const INPUT_FILE = "input";

const isInputFailure = (code: string): code is UploadProbeFailureCode => (uploadProbeFailureCodes as readonly string[]).includes(code);

/**
 * Probes one file outside any job (an upload, for its media facts): imports it into a
 * working directory of its own through the same guarded download as a job's input, runs
 * the same probe with its damage checks, and removes the directory. A file that is not
 * usable media is an answer (`ok: false` with the input's failure code); anything else
 * (our disk, ffprobe missing) is thrown.
 */
export async function probeUpload(request: ProbeRequest, runtime: ProbeRuntime): Promise<ProbeResponse> {
  try {
    return await withWorkDir(`probe_${randomUUID()}`, 1, async (dir) => {
      await importInput(request.url, path.join(dir, INPUT_FILE), {
        maxBytes: request.limits.max_input_bytes,
        connectTimeoutMs: request.limits.connect_timeout_ms,
        readTimeoutMs: request.limits.read_timeout_ms,
        ...networkAccess(runtime),
        signal: runtime.signal,
      });
      const probed = await probeFile(INPUT_FILE, dir, { ffprobe: runtime.ffprobe, signal: runtime.signal });
      return { ok: true as const, metadata: probed.metadata };
    });
  } catch (err) {
    if (err instanceof PipelineError && isInputFailure(err.code)) return { ok: false, error: { code: err.code, message: err.message } };
    throw err;
  }
}
