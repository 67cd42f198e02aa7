import { encoderFor, orderNumber } from "./helpers";

/**
 * Plays the encoder through a whole job: import, probe, one encode per order task, each
 * output's main file named by `mainOf`, then job_completed. For tests about what a
 * completed job's URLs reach.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string; output_id: string; spec: Record<string, unknown> }[];
}

const metadata = { duration_ms: 3000, width: 640, height: 360, codec: "h264", bitrate_kbps: 900, framerate: 30, file_size_bytes: 400_000, has_audio: true, audio_codec: "aac", rotation: 0 };

/** The main file the encoder names for an output: a package's master playlist or manifest, a thumbnail set's first still. */
export function defaultMain(outputId: string, kind: string): string {
  if (kind === "thumbnail") return `${outputId}.001.jpg`;
  if (kind === "hls") return `${outputId}/master.m3u8`;
  if (kind === "dash") return `${outputId}/manifest.mpd`;
  return `${outputId}.mp4`;
}

export async function finishJob(jobId: string, mainOf: (outputId: string, kind: string) => string = defaultMain): Promise<Order> {
  const order = await orderNumber<Order>(jobId, 1);
  const send = encoderFor(order);
  await send({ type: "task_started", stage: "import", task_id: null });
  await send({ type: "task_completed", stage: "import", task_id: null, output: null });
  await send({ type: "task_started", stage: "probe", task_id: null });
  await send({ type: "metadata", input_metadata: metadata });
  await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
  for (const task of order.tasks) {
    const main = mainOf(task.output_id, String(task.spec.kind === "output" ? task.spec.type : task.spec.kind));
    await send({ type: "task_started", stage: "encode", task_id: task.task_id });
    const output = {
      output_id: task.output_id,
      main,
      files: [{ path: main, content_type: "application/octet-stream", size_bytes: 1000, sha256: "c".repeat(64) }],
      size_bytes: 1000,
      duration_ms: 3000,
      width: 640,
      height: 360,
      codec: "h264",
      sha256: "c".repeat(64),
    };
    const done = await send({ type: "task_completed", stage: "encode", task_id: task.task_id, output });
    if (done.status >= 300) throw new Error(`task_completed for ${task.output_id} answered ${done.status}`);
  }
  const completed = await send({ type: "job_completed" });
  if (completed.status >= 300) throw new Error(`job_completed answered ${completed.status}`);
  return order;
}
