import type { Job, Kiln } from "../sdk/src/index";
import { Interrupted } from "./interrupted";
import type { Output } from "./output";
import { Bars } from "./progress";

/**
 * Follows a job live with the SDK's watch(): a bar per stage (each of its tasks: probe,
 * import, the encode, export…) moved by every event, until the job ends. Answers the job as
 * it ended. Ctrl-C stops following; the job carries on.
 */
export async function followJob(kiln: Kiln, id: string, out: Output, signal: AbortSignal): Promise<Job> {
  const bars = new Bars(!out.json);
  let status = "";
  try {
    for await (const { event, job } of kiln.jobs.watch(id, { signal })) {
      for (const task of job.tasks) {
        bars.bar(task.id, task.kind, 100).update(task.progress, { detail: task.status });
      }
      if (out.json && event !== "heartbeat") {
        out.event(event, { job_id: job.id, status: job.status, progress: job.progress, tasks: job.tasks.map((t) => ({ id: t.id, kind: t.kind, status: t.status, progress: t.progress })) }, "");
      }
      status = job.status;
      if (event === "completed") {
        bars.stop();
        return job;
      }
    }
    throw new Error(`the watch of ${id} ended before the job did`);
  } catch (error) {
    bars.stop();
    if (!signal.aborted) throw error;
    out.event("watch_interrupted", { job_id: id, status }, `stopped following ${id} (${status || "unknown"}); it carries on: kiln watch ${id}`);
    throw new Interrupted();
  }
}
