import { describe, expect, it } from "vitest";
import { createJobRequestSchema } from "../../worker/api/schemas/create-job";
import { type JobSpec, toJobSpec } from "../../worker/jobs/job-spec";
import type { JobState } from "../../worker/jobs/job-state";
import type { Task } from "../../worker/jobs/model";
import { planEngine, planJob } from "../../worker/jobs/plan";
import { builtInPresets } from "../../worker/jobs/presets";
import { type StoredJob, upgradeStoredJob } from "../../worker/jobs/stored-job";

/** The plan as a task graph: pure functions, no Worker. */

const IN = "https://media.example.com/in/clip%20one.mp4?token=abc";
const NOW = "2026-01-02T03:04:05.000Z";

function plan(body: Record<string, unknown>) {
  const spec: JobSpec = { ...toJobSpec(createJobRequestSchema.parse(body), new Map(Object.entries(builtInPresets))), storage: { input: null, output: null } };
  return { spec, ...planJob(spec, NOW) };
}

const graph = (tasks: Task[]) => tasks.map(({ kind, engine, inputs, outputs, depends_on }) => ({ kind, engine, inputs, outputs, depends_on }));

const vtkTasks = [
  { tool: "storage:get", parameters: { location: "s3://{acme-aws-access-keys}@acme-bucket/in/", files: ["source.mov", "logo.png"] } },
  { tool: "ffmpeg:cmd", parameters: { arguments: ["-y", "-i", "source.mov", "-i", "logo.png", "-filter_complex", "overlay", "-c:v", "libx264", "-b:v", "1500k", "-c:a", "aac", "source_720p.mp4", "unused.mp4"] } },
  { tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "source_720p.mp4", "-frames:v", "1", "poster.jpg"] } },
  { tool: "storage:put", parameters: { location: "s3://{acme-aws-access-keys}@acme-bucket/out/{job_id}/", files: ["source_720p.mp4", "poster.jpg"] } },
];

describe("planJob", () => {
  it("plans a kind job on the transcode engine: probe → import → the kind's task → export", () => {
    const { tasks, outputs } = plan({ input: IN, kind: "video", options: { width: 640 } });
    const [probe, imported, video, exported] = tasks;
    expect(graph(tasks)).toEqual([
      { kind: "probe", engine: "transcode", inputs: ["input"], outputs: [], depends_on: [] },
      { kind: "import", engine: "transcode", inputs: ["input"], outputs: [], depends_on: [probe!.id] },
      { kind: "video", engine: "transcode", inputs: ["input"], outputs: [outputs[0]!.id], depends_on: [imported!.id] },
      { kind: "export", engine: "transcode", inputs: [outputs[0]!.id], outputs: [], depends_on: [video!.id] },
    ]);
    expect(video!.options).toEqual({ format: "mp4", codec: "h264", width: 640 });
    expect(exported!.output_id).toBeNull();
    expect(planEngine(tasks)).toBe("transcode");
  });

  it("plans an outputs job with an encode task per output and a thumbnail task per thumbnail, all before export", () => {
    const { tasks, outputs } = plan({
      input: IN,
      outputs: [{ type: "mp4", video: [{ codec: "h264" }] }, { preset: "hls_ladder_standard" }],
      thumbnails: [{ count: 3 }],
    });
    expect(tasks.map((t) => t.kind)).toEqual(["probe", "import", "encode", "encode", "thumbnail", "export"]);
    const makers = tasks.slice(2, 5);
    expect(makers.map((t) => t.outputs)).toEqual(outputs.map((o) => [o.id]));
    expect(makers.every((t) => t.depends_on.length === 1 && t.depends_on[0] === tasks[1]!.id)).toBe(true);
    expect(tasks[5]).toMatchObject({ inputs: outputs.map((o) => o.id), depends_on: makers.map((t) => t.id) });
    expect(makers[1]!.options).toMatchObject({ type: "hls", preset: "hls_ladder_standard" });
    expect(tasks.every((t) => t.engine === "transcode")).toBe(true);
  });

  it("plans a tool pipeline on the tools engine as a chain, reading what each step reads and makes from its parameters", () => {
    const { tasks, outputs } = plan({ tasks: vtkTasks });
    const [get, overlay, poster, put] = tasks;
    expect(graph(tasks)).toEqual([
      { kind: "storage:get", engine: "tools", inputs: [], outputs: ["source.mov", "logo.png"], depends_on: [] },
      // unused.mp4 is written but no later step reads it.
      { kind: "ffmpeg:cmd", engine: "tools", inputs: ["source.mov", "logo.png"], outputs: ["source_720p.mp4"], depends_on: [get!.id] },
      { kind: "ffmpeg:cmd", engine: "tools", inputs: ["source_720p.mp4"], outputs: ["poster.jpg"], depends_on: [overlay!.id] },
      { kind: "storage:put", engine: "tools", inputs: ["source_720p.mp4", "poster.jpg"], outputs: outputs.map((o) => o.id), depends_on: [poster!.id] },
    ]);
    expect(outputs.map(({ type, spec }) => ({ type, spec }))).toEqual([
      { type: "mp4", spec: { file: "source_720p.mp4", location: vtkTasks[3]!.parameters.location, overwrite: false } },
      { type: "jpg", spec: { file: "poster.jpg", location: vtkTasks[3]!.parameters.location, overwrite: false } },
    ]);
    expect(put!.tool).toBe("storage:put");
    expect(planEngine(tasks)).toBe("tools");
  });

  it("fetches a tool pipeline's input as its first step, under the last segment of its URL", () => {
    const named = plan({ input: "https://media.example.com/a/in.mp4?sig=1", tasks: [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "in.mp4", "out.mp4"] } }] });
    expect(graph(named.tasks)).toEqual([
      { kind: "import", engine: "tools", inputs: ["input"], outputs: ["in.mp4"], depends_on: [] },
      { kind: "ffmpeg:cmd", engine: "tools", inputs: ["in.mp4"], outputs: [], depends_on: [named.tasks[0]!.id] },
    ]);
    expect(named.tasks[0]).toMatchObject({ tool: null, options: { file: "in.mp4" } });
    // "clip one.mp4" is no plain file name, so the input goes by `input`; an upload by its id.
    expect(plan({ input: IN, tasks: [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "input", "o.mp4"] } }] }).tasks[0]!.outputs).toEqual(["input"]);
    expect(plan({ input: "vid_abc123", tasks: [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "vid_abc123", "o.mp4"] } }] }).tasks[0]!.outputs).toEqual(["vid_abc123"]);
  });
});

describe("upgradeStoredJob", () => {
  /** A job as the JobDO stored it before tasks had a graph or execution marks existed. */
  function storedBefore(body: Record<string, unknown>): { stored: StoredJob; planned: Task[] } {
    const { spec, tasks, outputs } = plan(body);
    const stored = {
      id: "job_aaaaaaaaaaaaaaaaaaaa",
      org_id: "org_a",
      spec,
      request_hash: "h",
      idempotency_key: null,
      resubmitted_from: null,
      status: "failed",
      progress: 0,
      current_stage: null,
      attempt: 1,
      dispatched_attempt: 1,
      lease: null,
      lost_attempts: 0,
      tasks: tasks.map(({ engine: _e, inputs: _i, outputs: _o, depends_on: _d, ...old }) => old),
      outputs,
      input_metadata: null,
      error: null,
      created_at: NOW,
      updated_at: NOW,
      started_at: null,
      probed_at: null,
      confirmed_at: null,
      completed_at: null,
    } satisfies Omit<StoredJob, "execution">;
    return { stored: JSON.parse(JSON.stringify(stored)), planned: tasks };
  }

  it("derives the graph of a kind or outputs job stored before it, as planJob makes it", () => {
    for (const body of [{ input: IN, kind: "audio" }, { input: IN, outputs: [{ type: "mp4", video: [{ codec: "h264" }] }], thumbnails: [{ count: 1 }] }]) {
      const { stored, planned } = storedBefore(body);
      const job: JobState = upgradeStoredJob(stored, Date.parse(NOW));
      expect(job.tasks).toEqual(planned);
      expect(job.execution).toMatchObject({ attempt: 0, running: {}, compute_ms: {} });
    }
  });

  it("derives a stored tool pipeline's chain, adding the step that fetches its input", () => {
    const { stored, planned } = storedBefore({ tasks: vtkTasks });
    expect(upgradeStoredJob(stored, Date.parse(NOW)).tasks).toEqual(planned);

    const withInput = storedBefore({ input: "https://media.example.com/in.mp4", tasks: [vtkTasks[1]!, vtkTasks[3]!] });
    const withoutImport = { ...withInput.stored, tasks: withInput.stored.tasks.filter((t) => t.kind !== "import") };
    const upgraded = upgradeStoredJob(withoutImport, Date.parse(NOW)).tasks;
    expect(graph(upgraded)).toEqual(graph(withInput.planned).map((t, i) => ({ ...t, depends_on: i === 0 ? [] : [upgraded[i - 1]!.id] })));
    expect(upgraded[0]).toMatchObject({ kind: "import", options: { file: "in.mp4" }, status: "waiting", created_at: NOW });
  });

  it("leaves a job stored with its graph as it is", () => {
    const { stored, planned } = storedBefore({ input: IN, kind: "image" });
    const current = { ...stored, tasks: planned, dispatch: null, deadline_at: null, execution: { attempt: 2, probe_started_ms: 1, probe_duration_ms: 2, encode_started_ms: null, encode_finished_ms: null, running: {}, compute_ms: { a: 1 } } };
    expect(upgradeStoredJob(current, Date.parse(NOW))).toEqual(current);
  });
});
