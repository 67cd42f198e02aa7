import { type StyleOrderInput, type StyleStage, styleStages } from "../../../encoder/contract";
import { type OrderContext, inputUrl, mediaUrl, orderBase } from "./context";

/**
 * The style engine's order: the source (the job's input) and the template as URLs the
 * encoder reads, the planned stage tasks, and, when the plan renders, the output and
 * the config it is rendered with.
 */
export async function styleOrder(ctx: OrderContext): Promise<StyleOrderInput> {
  const { job } = ctx;
  if (job.spec.mode !== "style") throw new Error("a style order is made for a style job only");
  const rendering = job.tasks.find((t) => t.kind === "rendering");
  return {
    ...orderBase(ctx),
    engine: "style",
    input: { url: await inputUrl(ctx) },
    template: job.spec.template === null ? null : { url: await mediaUrl(ctx, job.spec.template) },
    tasks: job.tasks.filter((t) => (styleStages as readonly string[]).includes(t.kind)).map((t) => ({ task_id: t.id, stage: t.kind as StyleStage })),
    render: rendering?.output_id ? { output_id: rendering.output_id, config: job.spec.config } : null,
  };
}
