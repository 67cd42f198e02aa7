import type { EngineName, WorkOrderInput } from "../../encoder/contract";
import type { JobState } from "../jobs/job-state";
import { planEngine } from "../jobs/plan";
import { type OrderContext, type OrderEnv, orderContext } from "./orders/context";
import { styleOrder } from "./orders/style";
import { toolsOrder } from "./orders/tools";
import { transcodeOrder } from "./orders/transcode";

export { UndispatchableJob } from "./orders/context";

/** How each engine's order is projected from the plan. */
const orderBuilders: { [E in EngineName]: (ctx: OrderContext) => Promise<WorkOrderInput> } = {
  transcode: transcodeOrder,
  tools: toolsOrder,
  style: styleOrder,
};

/**
 * The work order for the job's current attempt: a projection of its planned tasks for
 * the engine that runs them, never a second reading of the request. The encoder gets
 * URLs only: inputs presigned or signed, and Worker routes for events and export
 * signing, both authorised by the attempt's lease token. An upload, origin or secret the
 * job needs that is gone since creation fails the job (UndispatchableJob, with its own
 * code) before anything runs.
 */
export function buildWorkOrder(job: JobState, lease: { attempt: number; token: string }, publicUrl: string, env: OrderEnv): Promise<WorkOrderInput> {
  return orderBuilders[planEngine(job.tasks)](orderContext(job, lease, publicUrl, env));
}
