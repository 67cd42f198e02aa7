import type { Command } from "../args";
import { followJob } from "../follow";
import { reportOutcome } from "../job-outcome";
import { saveOutputs } from "../save";
import type { Context } from "./context";

/** `kiln watch <id> [-o path]`: follows any job to its end, then downloads it to a local -o. */
export async function watch(command: Extract<Command, { name: "watch" }>, { kiln, out, signal }: Context): Promise<number> {
  const job = await followJob(kiln, command.id, out, signal);
  if (command.output && (job.status === "completed" || job.status === "partial")) await saveOutputs(kiln, job, command.output, out);
  return reportOutcome(job, out);
}
