import type { EncodeSpec, WorkOrderInput } from "../../encoder/contract";
import type { JobState } from "../jobs/job-state";

export class UndispatchableJob extends Error {
  constructor(
    readonly code: "input_unsupported" | "job_unsupported",
    message: string,
  ) {
    super(message);
  }
}

/**
 * The work order for the job's current attempt. The encoder gets URLs only: the input
 * as given (http/https), and Worker routes for events and export signing, both
 * authorised by the attempt's lease token.
 */
export function buildWorkOrder(job: JobState, lease: { attempt: number; token: string }, publicUrl: string): WorkOrderInput {
  const { spec } = job;
  if (spec.mode !== "kind") {
    throw new UndispatchableJob("job_unsupported", `The encoder does not run ${spec.mode === "outputs" ? "outputs[]" : "tool pipeline"} jobs yet`);
  }
  if (!spec.input || !/^https?:\/\//.test(spec.input)) {
    throw new UndispatchableJob("input_unsupported", "Only http(s) inputs can be fetched yet; uploads and bucket inputs need storage origins");
  }
  const encodeTask = job.tasks.find((t) => t.kind === spec.kind)!;
  const base = publicUrl.replace(/\/+$/, "");
  return {
    v: 1,
    job_id: job.id,
    attempt: lease.attempt,
    lease_token: lease.token,
    input: { url: spec.input },
    tasks: [{ task_id: encodeTask.id, output_id: encodeTask.output_id!, spec: { kind: spec.kind, ...spec.options } as EncodeSpec }],
    export: { sign_url: `${base}/internal/jobs/${job.id}/sign`, token: lease.token },
    callback: { url: `${base}/internal/jobs/${job.id}/events`, token: lease.token },
  };
}
