import type { KindJobRequest } from "../../sdk/src/index";
import type { Command } from "../args";
import { followJob } from "../follow";
import { reportOutcome } from "../job-outcome";
import { kindOptions } from "../kind-options";
import { saveOutputs } from "../save";
import { uploadFile } from "../upload";
import type { Context } from "./context";

/** A URL the encoder fetches itself, or a bucket path resolved through origins and secrets. */
const isUrl = (value: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
const isUploadId = (value: string) => /^vid_[a-z0-9]{1,64}$/.test(value);
/** Output locations the job writes to itself (the API's `output`), rather than files to download. */
const isBucketLocation = (value: string) => /^(s3|gs|r2):\/\//i.test(value);

/**
 * `kiln video|audio|image|animation|adaptive -i … [-o …]`: uploads a local input with tus,
 * creates the kind job, follows it with a bar per stage, and downloads the result to a
 * local -o (or has the job write it to an s3:// / gs:// / r2:// -o itself).
 */
export async function convert(command: Extract<Command, { name: "convert" }>, { kiln, config, out, signal }: Context): Promise<number> {
  const options = kindOptions(command.flags, command.output);
  const input = isUrl(command.input) || isUploadId(command.input) ? command.input : (await uploadFile(kiln, config, command.input, out, { chunkSize: command.chunkSize, signal })).id;
  const remoteOutput = command.output !== undefined && isBucketLocation(command.output);
  const request: KindJobRequest = { input, kind: command.kind, options, ...(remoteOutput ? { output: command.output } : {}) };
  const created = await kiln.jobs.create(request, { signal });
  out.event("created", { job_id: created.id, kind: command.kind }, `job ${created.id} created (${command.kind})`);
  const job = await followJob(kiln, created.id, out, signal);
  if (command.output && !remoteOutput && (job.status === "completed" || job.status === "partial")) await saveOutputs(kiln, job, command.output, out);
  return reportOutcome(job, out);
}
