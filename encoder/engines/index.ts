import type { EngineName, WorkOrder } from "../contract";
import { runJob } from "../pipeline/run-job";
import type { EngineRuntime } from "./runtime";
import { runStyle } from "./style";
import { runTools } from "./tools";

/**
 * One kind of work: runs an attempt of an order to its last event (job_completed or a
 * failure) inside a working directory that is gone by then. Failures are reported to
 * the Worker, not thrown.
 */
export interface Engine<O extends WorkOrder> {
  run(order: O, runtime: EngineRuntime): Promise<void>;
}

/** The engines by the name an order gives in its `engine` field. */
const engines: { [K in EngineName]: Engine<Extract<WorkOrder, { engine: K }>> } = {
  transcode: { run: runJob },
  tools: { run: runTools },
  style: { run: runStyle },
};

/** Runs an order with the engine it names. */
export function runOrder(order: WorkOrder, runtime: EngineRuntime): Promise<void> {
  // The table is keyed by the engine field, so the entry takes this order's type.
  return (engines[order.engine] as Engine<WorkOrder>).run(order, runtime);
}
