import type { Job } from "../sdk/src/index";
import type { Output } from "./output";

/**
 * Says how a job ended and answers the exit code: 0 when it completed, 1 otherwise, with
 * the job's error code (and each failed output's) printed.
 */
export function reportOutcome(job: Job, out: Output): 0 | 1 {
  if (job.status === "completed") {
    out.result({ event: "done", job_id: job.id, status: job.status, outputs: job.outputs.map((o) => ({ id: o.id, output_url: o.output_url, manifest_url: o.manifest_url })) }, `job ${job.id} completed`);
    return 0;
  }
  const failedOutputs = job.outputs.filter((o) => o.error);
  const error = job.error ?? failedOutputs[0]?.error ?? { code: job.status, message: `the job ended ${job.status}` };
  out.error(error.code, `job ${job.id} ${job.status}: ${error.message}`, { job_id: job.id, status: job.status });
  for (const output of failedOutputs) if (output.error !== error) out.error(output.error!.code, `output ${output.id}: ${output.error!.message}`, { job_id: job.id, output_id: output.id });
  return 1;
}
