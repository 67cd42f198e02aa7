import { describe, expect, it } from "vitest";
import { type CostLine, type PricedInput, actualCost, costLines, estimatedCost } from "../../worker/billing/cost";
import { priorityMultiplier, roundEur, tierOf, videoPricePerMinute } from "../../worker/billing/prices";
import { type ExecutionMarks, executionView, newExecutionMarks, recordExecution, usageView } from "../../worker/billing/usage";
import { type JobSpec, toJobSpec } from "../../worker/jobs/job-spec";
import type { Output, Task } from "../../worker/jobs/model";
import { planJob } from "../../worker/jobs/plan";
import { builtInPresets } from "../../worker/jobs/presets";
import { createJobRequestSchema } from "../../worker/api/schemas/create-job";

/** The price table and what it makes of jobs: pure functions, no Worker. */

const IN = "https://media.example.com/in.mp4";
const oneMinute1080 = { duration_ms: 60_000, width: 1920, height: 1080 };

function plannedJob(body: Record<string, unknown>): { spec: JobSpec; outputs: Output[]; tasks: Task[] } {
  const spec: JobSpec = { ...toJobSpec(createJobRequestSchema.parse({ input: IN, ...body }), new Map(Object.entries(builtInPresets))), storage: { input: null, output: null } };
  return { spec, ...planJob(spec, new Date().toISOString()) };
}

function estimate(body: Record<string, unknown>, input: PricedInput = oneMinute1080): number | null {
  const lines = costLines(plannedJob(body), input);
  return lines && estimatedCost(lines);
}

describe("the price table", () => {
  it("places pictures in tiers by pixel count, 854×480 still sd and 4096×2160 still uhd", () => {
    expect([640 * 360, 854 * 480, 854 * 481, 1280 * 720, 1920 * 1080, 2560 * 1440, 4096 * 2160, 4096 * 2161].map(tierOf)).toEqual([
      "sd", "sd", "hd", "hd", "fhd", "qhd", "uhd", "8k",
    ]);
  });

  it("charges more for every step up in tier, and more for h265, vp9 and av1 than h264", () => {
    for (const prices of Object.values(videoPricePerMinute)) {
      const row = Object.values(prices);
      expect(row).toEqual([...row].sort((a, b) => a - b));
      expect(new Set(row).size).toBe(row.length);
    }
    for (const codec of ["h265", "vp9", "av1"] as const) expect(videoPricePerMinute[codec].fhd).toBeGreaterThan(videoPricePerMinute.h264.fhd);
  });

  it("multiplies by priority: economy 0.75, standard 1, premium 2", () => {
    expect(priorityMultiplier).toEqual({ economy: 0.75, standard: 1, premium: 2 });
    const body = { kind: "video", options: { format: "mp4", codec: "h264" } };
    expect(estimate(body)).toBe(0.008);
    expect(estimate({ ...body, priority: "economy" })).toBe(0.006);
    expect(estimate({ ...body, priority: "premium" })).toBe(0.016);
    // VTK's 1–10 maps onto the tiers: 1 is premium.
    expect(estimate({ ...body, priority: 1 })).toBe(0.016);
  });

  it("rounds to the ten-thousandth of a euro", () => {
    expect([roundEur(0.00004), roundEur(0.00005), roundEur(1.23456)]).toEqual([0, 0.0001, 1.2346]);
  });
});

describe("estimates from the probed input", () => {
  it("prices a kind video by its codec, its requested size (pixels or %) and its time window", () => {
    expect(estimate({ kind: "video", options: { format: "mp4", codec: "h265", width: 1280 } })).toBe(0.009);
    expect(estimate({ kind: "video", options: { format: "webm", width: "25%" } })).toBe(0.005); // 480×270 vp9: sd
    expect(estimate({ kind: "video", options: { format: "mp4", codec: "av1", start: 15, end: 45 } })).toBe(0.01); // half a minute of fhd av1
    expect(estimate({ kind: "video", options: { format: "mp4", end: 600 } })).toBe(0.008); // the window ends with the input
  });

  it("prices an adaptive ladder as every rung up to the picture's short side", () => {
    // 1080p source: rungs 1080, 720, 480, 360, 240 → fhd + hd + sd + sd + sd in h264.
    expect(estimate({ kind: "adaptive_video", options: {} })).toBe(roundEur(0.008 + 0.006 + 0.004 * 3));
    // A 640×360 source: rungs 360 and 240, both sd.
    expect(estimate({ kind: "adaptive_video", options: {} }, { duration_ms: 60_000, width: 640, height: 360 })).toBe(0.008);
  });

  it("prices audio per minute and an image or thumbnail frames per item", () => {
    expect(estimate({ kind: "audio", options: { format: "mp3" } }, { duration_ms: 120_000, width: null, height: null })).toBe(0.002);
    expect(estimate({ kind: "image", options: { format: "png" } })).toBe(0.001);
    const withThumbs = estimate({
      kind: "image",
      options: { format: "png" },
      thumbnails: [{ times: [1, "50%"] }, { interval: 10, sprite: true }, { count: 4 }, {}],
    });
    // 2 + 6 (60 s every 10 s) + 4 + 1 frames at 0.0002.
    expect(withThumbs).toBe(roundEur(0.001 + 13 * 0.0002));
  });

  it("prices each output of outputs[], every variant of a ladder, resolutions in the source's aspect", () => {
    const cost = estimate({
      outputs: [
        { type: "mp4", video: [{ codec: "h264", resolution: "720p" }] },
        { type: "hls", video: [{ codec: "h264", resolution: "1080p" }, { codec: "h265", resolution: "480p" }] },
        { preset: "webm_720p_standard" },
      ],
    });
    expect(cost).toBe(roundEur(0.006 + (0.008 + 0.006) + 0.008));
  });

  it("does not price a tool pipeline", () => {
    const tasks = [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "in.mp4", "-c:v", "libx264", "out.mp4"] } }];
    expect(estimate({ tasks })).toBeNull();
  });
});

describe("actual cost", () => {
  const lines: CostLine[] = [
    { output_id: "out_a", unit: "minute", rate: 0.01, quantity: 1 },
    { output_id: "out_b", unit: "minute", rate: 0.02, quantity: 1 },
    { output_id: "out_c", unit: "item", rate: 0.0002, quantity: 5 },
  ];
  const output = (id: string, status: Output["status"], durationMs: number | null): Output => ({
    id,
    type: "mp4",
    status,
    spec: {},
    output_url: null,
    file_size_bytes: 100,
    facts: { duration_ms: durationMs, width: 1, height: 1, codec: "h264", sha256: "a", files: 1 },
    error: null,
    main_key: null,
    main_object: null,
  });

  it("charges completed outputs at their measured durations and nothing for failed ones", () => {
    expect(actualCost(lines, [output("out_a", "completed", 30_000), output("out_b", "failed", null), output("out_c", "completed", null)])).toBe(roundEur(0.005 + 0.001));
    expect(actualCost(lines, [output("out_a", "canceled", null), output("out_b", "pending", null), output("out_c", "failed", null)])).toBe(0);
  });

  it("falls back to the planned minutes when an output has no measured duration", () => {
    expect(actualCost(lines, [output("out_a", "completed", null)])).toBe(0.01);
  });
});

describe("execution and usage", () => {
  const at = "2026-01-01T00:00:00.000Z";
  const event = (attempt: number, body: Record<string, unknown>) => ({ v: 1, job_id: "job_x", attempt, seq: 0, at, ...body }) as never;

  it("measures the probe and encode of the last attempt and each task's run time over all attempts", () => {
    const marks: ExecutionMarks = newExecutionMarks();
    recordExecution(marks, event(1, { type: "task_started", stage: "probe", task_id: null }), "t_probe", 1_000);
    recordExecution(marks, event(1, { type: "task_completed", stage: "probe", task_id: null, output: null }), "t_probe", 1_400);
    // A second attempt probes again: the probe span is its own, the compute adds up.
    recordExecution(marks, event(2, { type: "task_started", stage: "probe", task_id: null }), "t_probe", 10_000);
    recordExecution(marks, event(2, { type: "task_completed", stage: "probe", task_id: null, output: null }), "t_probe", 10_300);
    recordExecution(marks, event(2, { type: "task_started", stage: "encode", task_id: "t_a" }), "t_a", 10_500);
    recordExecution(marks, event(2, { type: "task_started", stage: "encode", task_id: "t_b" }), "t_b", 12_500);
    recordExecution(marks, event(2, { type: "task_completed", stage: "encode", task_id: "t_a", output: null }), "t_a", 13_000);
    recordExecution(marks, event(2, { type: "task_failed", stage: "encode", task_id: "t_b", error: { code: "encode_failed", message: "x" } }), "t_b", 14_500);
    expect(marks.compute_ms).toEqual({ t_probe: 700, t_a: 2_500, t_b: 2_000 });
    const job = { started_at: "2026-01-01T00:00:00.000Z", probed_at: "2026-01-01T00:00:01.000Z", confirmed_at: "2026-01-01T00:00:31.000Z", completed_at: "2026-01-01T00:00:40.000Z" };
    expect(executionView(marks, job)).toEqual({ probe_duration_ms: 300, encode_duration_ms: 4_000, total_duration_ms: 10_000 });
  });

  it("sums usage over tasks: input minutes and bytes on import, output minutes and bytes on each output's task", () => {
    const { tasks, outputs } = plannedJob({ kind: "video", options: { format: "mp4" }, thumbnails: [{ count: 2 }] });
    for (const task of tasks) task.status = "completed";
    Object.assign(outputs[0]!, { status: "completed", file_size_bytes: 2_000_000, facts: { duration_ms: 90_000, width: 1, height: 1, codec: "h264", sha256: "a", files: 1 } });
    Object.assign(outputs[1]!, { status: "completed", file_size_bytes: 30_000, facts: { duration_ms: null, width: 1, height: 1, codec: "mjpeg", sha256: "b", files: 2 } });
    const marks = newExecutionMarks();
    marks.compute_ms = { [tasks[2]!.id]: 90_000, [tasks[3]!.id]: 6_000 };
    const usage = usageView(marks, tasks, outputs, { duration_ms: 90_000, file_size_bytes: 50_000_000 });
    expect(usage).toMatchObject({ compute_units: 1.6, video_minutes_in: 1.5, video_minutes_out: 1.5, gb_in: 0.05, gb_out: 0.00203 });
    expect(usage.tasks.map((t) => [t.kind, t.compute_units, t.video_minutes_in, t.video_minutes_out, t.gb_in, t.gb_out])).toEqual([
      ["probe", 0, 0, 0, 0, 0],
      ["import", 0, 1.5, 0, 0.05, 0],
      ["video", 1.5, 0, 1.5, 0, 0.002],
      ["thumbnail", 0.1, 0, 0, 0, 0.00003],
      ["export", 0, 0, 0, 0, 0],
    ]);
  });
});
