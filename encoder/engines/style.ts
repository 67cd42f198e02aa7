import type { StyleOrder } from "../contract";
import { PipelineError } from "../errors";
import type { EngineRuntime } from "./runtime";

/** PLACEHOLDER: the style engine is being built (issue 16). */
export async function runStyle(order: StyleOrder, runtime: EngineRuntime): Promise<void> {
  const first = order.tasks[0]!;
  const error = new PipelineError("encode_failed", "the style engine is not built yet");
  await runtime.reporter.send({ type: "task_failed", stage: "encode", task_id: first.task_id, error: { code: error.code, message: error.message } });
}
