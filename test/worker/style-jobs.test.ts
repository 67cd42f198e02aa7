import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type StyleOrder, styleOrderSchema } from "../../encoder/contract";
import { reportedStyleJson } from "../shared/style-json";
import { call, encoderFor, orderNumber, outputFacts, seedOrg } from "./helpers";

/*
 * Native style jobs on the Worker's side: the `style` form, a task per stage on the
 * style engine, the order the encoder is sent, and the style engine's events (played
 * here through the internal routes) filling the job's style result and completing it.
 */
const SOURCE = "https://media.example.com/source.mp4";
const TEMPLATE = "https://media.example.com/template.mp4";

async function createJob(key: string, body: Record<string, unknown>) {
  const res = await call("/v1/jobs", { key, body });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

const view = async (key: string, id: string) => (await call(`/v1/jobs/${id}`, { key })).json;
const orderOf = (id: string) => orderNumber<StyleOrder>(id);

const stageIds = (job: { tasks: { id: string; kind: string }[] }) => Object.fromEntries(job.tasks.map((t) => [t.kind, t.id]));

describe("POST /v1/jobs with style", () => {
  it("plans a task per stage on the style engine, the last making one MP4", async () => {
    const { key } = await seedOrg();
    const job = await createJob(key, { input: SOURCE, style: { template: TEMPLATE, config: { quality: "high", apply: { audio: false } } } });
    expect(job.tasks.map((t: { kind: string }) => t.kind)).toEqual(["video_analysis", "audio_analysis", "motion_analysis", "style_extraction", "style_application", "rendering"]);
    expect(new Set(job.tasks.map((t: { engine: string }) => t.engine))).toEqual(new Set(["style"]));
    // Each stage waits for the one before.
    job.tasks.forEach((t: { depends_on: string[] }, i: number) => expect(t.depends_on).toEqual(i === 0 ? [] : [job.tasks[i - 1].id]));
    expect(job.outputs).toHaveLength(1);
    expect(job.outputs[0]).toMatchObject({ type: "mp4", status: "pending" });
    expect(job.tasks.at(-1).output_id).toBe(job.outputs[0].id);
    expect(job.style).toEqual({
      template: TEMPLATE,
      config: { quality: "high", apply: { audio: false } },
      style_json: null,
      source_style_json: null,
      output_style_json: null,
      comparison: null,
      shortened: null,
    });
  });

  it("only extracts when there is no template and config asks for no change", async () => {
    const { key } = await seedOrg();
    const job = await createJob(key, { input: SOURCE, style: {} });
    expect(job.tasks.map((t: { kind: string }) => t.kind)).toEqual(["video_analysis", "audio_analysis", "motion_analysis", "style_extraction"]);
    expect(job.outputs).toEqual([]);
    const reframed = await createJob(key, { input: SOURCE, style: { config: { aspect_ratio: "1:1" } } });
    expect(reframed.tasks.at(-1).kind).toBe("rendering");
    expect(reframed.outputs).toHaveLength(1);
  });

  it("refuses what a style job cannot do, naming the field", async () => {
    const { key } = await seedOrg();
    const cases: [Record<string, unknown>, string][] = [
      [{ input: SOURCE, style: { config: { aspect_ratio: "2:1" } } }, "style.config.aspect_ratio"],
      [{ input: SOURCE, style: { config: { frame_rate: 29 } } }, "style.config.frame_rate"],
      [{ input: SOURCE, style: { config: { output_format: "webm" } } }, "style.config.output_format"],
      [{ input: SOURCE, style: { config: { sharpen: true } } }, "style.config"],
      [{ input: SOURCE, style: { template: "ftp://example.com/t.mp4" } }, "style.template"],
      [{ input: SOURCE, style: {}, kind: "video" }, ""],
      [{ input: SOURCE, style: {}, thumbnails: [{ format: "jpeg", frames: { mode: "count", count: 2 } }] }, "thumbnails"],
      [{ input: SOURCE, style: {}, clip: { start_seconds: 0, end_seconds: 1 } }, "clip"],
      [{ style: {} }, "input"],
    ];
    for (const [body, path] of cases) {
      const res = await call("/v1/jobs", { key, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const paths = (res.json.error.details.issues as { path: string }[]).map((i) => i.path);
      expect(paths, JSON.stringify(body)).toContain(path);
    }
  });

  it("refuses a template upload the organization does not have", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: { input: SOURCE, style: { template: "vid_nosuchupload" } } });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("upload_not_found");
  });
});

describe("the style engine's order and events", () => {
  it("sends the source, the template and the planned stages, with the output to render", async () => {
    const { key } = await seedOrg();
    const job = await createJob(key, { input: SOURCE, style: { template: TEMPLATE, config: { aspect_ratio: "9:16" } } });
    const order = await orderOf(job.id);
    expect(styleOrderSchema.safeParse(order).success).toBe(true);
    expect(order).toMatchObject({
      engine: "style",
      input: { url: SOURCE },
      template: { url: TEMPLATE },
      render: { output_id: job.outputs[0].id, config: { aspect_ratio: "9:16" } },
    });
    expect(order.tasks).toEqual(job.tasks.map((t: { id: string; kind: string }) => ({ task_id: t.id, stage: t.kind })));
  });

  it("signs an upload template as a /storage URL, and sends no render for an extraction", async () => {
    const { key } = await seedOrg();
    const upload = await call("/v1/uploads", { key, body: { content_type: "video/mp4", filename: "t.mp4", max_bytes: 1024 } });
    const put = await exports.default.fetch(new Request(upload.json.upload_url, { method: "PUT", body: new Uint8Array(64), headers: { "content-type": "video/mp4" } }));
    expect(put.status).toBe(201);
    const job = await createJob(key, { input: upload.json.id, style: {} });
    const order = await orderOf(job.id);
    expect(order.template).toBeNull();
    expect(order.render).toBeNull();
    expect(new URL(order.input.url).pathname).toContain(`/storage/uploads/`);
    const templated = await createJob(key, { input: SOURCE, style: { template: upload.json.id } });
    expect(new URL((await orderOf(templated.id)).template!.url).pathname).toContain(`/${upload.json.id}/`);
  });

  it("walks the stages, keeps what was measured and completes with the rendered output", async () => {
    const { key } = await seedOrg();
    const job = await createJob(key, { input: SOURCE, style: { template: TEMPLATE } });
    const order = await orderOf(job.id);
    const send = encoderFor(order);
    const ids = stageIds(job);
    const ok = { status: 200, directive: "continue" };
    const seen: (string | null)[] = [];
    for (const stage of ["video_analysis", "audio_analysis", "motion_analysis", "style_extraction", "style_application"]) {
      expect(await send({ type: "task_started", stage: "encode", task_id: ids[stage] })).toEqual(ok);
      if (stage === "video_analysis") {
        const input_metadata = { duration_ms: 10000, width: 640, height: 360, codec: "h264", bitrate_kbps: 900, framerate: 30, file_size_bytes: 99999, has_audio: true, audio_codec: "aac", rotation: 0 };
        expect(await send({ type: "metadata", input_metadata })).toEqual(ok);
      }
      const running = await view(key, job.id);
      expect(running.status).toBe("processing");
      seen.push(running.tasks.find((t: { status: string }) => t.status === "running")?.kind ?? null);
      if (stage === "style_extraction") {
        expect(await send({ type: "style_measured", task_id: ids[stage], style_json: reportedStyleJson(), source_style_json: reportedStyleJson({ aspect_ratio: "16:9", cut_frequency: 0 }) })).toEqual(ok);
      }
      expect(await send({ type: "task_completed", stage: "encode", task_id: ids[stage], output: null })).toEqual(ok);
    }
    expect(seen).toEqual(["video_analysis", "audio_analysis", "motion_analysis", "style_extraction", "style_application"]);
    const extracted = await view(key, job.id);
    expect(extracted.style.style_json.aspect_ratio).toBe("9:16");
    expect(extracted.style.source_style_json.aspect_ratio).toBe("16:9");

    await send({ type: "task_started", stage: "encode", task_id: ids.rendering });
    const comparison = [{ dimension: "saturation", source: 0, template: 41, output: 33, closed_fraction: 33 / 41 }];
    await send({ type: "style_measured", task_id: ids.rendering, output_style_json: reportedStyleJson({ cut_frequency: 27 }), comparison, shortened: { wanted_seconds: 10, rendered_seconds: 8 } });
    await send({ type: "task_completed", stage: "encode", task_id: ids.rendering, output: outputFacts(job.outputs[0].id) });
    expect(await send({ type: "job_completed" })).toEqual({ status: 200, directive: "cancel" });
    const done = await view(key, job.id);
    expect(done.status).toBe("completed");
    expect(done.outputs[0]).toMatchObject({ status: "completed", facts: { codec: "h264" } });
    expect(done.outputs[0].output_url).toMatch(/^https?:\/\//);
    expect(done.input_metadata).toMatchObject({ width: 640, duration_ms: 10000 });
    // The price table has no line for style work: no figure is made up.
    expect([done.total_estimated_cost, done.total_actual_cost]).toEqual([null, null]);
    expect(done.style).toMatchObject({ comparison, shortened: { wanted_seconds: 10, rendered_seconds: 8 }, output_style_json: { cut_frequency: 27 } });
  });

  it("completes an extraction with no output, and fails the job at the stage that found bad media", async () => {
    const { key } = await seedOrg();
    const job = await createJob(key, { input: SOURCE, style: {} });
    const send = encoderFor(await orderOf(job.id));
    const ids = stageIds(job);
    for (const stage of ["video_analysis", "audio_analysis", "motion_analysis", "style_extraction"]) {
      await send({ type: "task_started", stage: "encode", task_id: ids[stage] });
      if (stage === "style_extraction") await send({ type: "style_measured", task_id: ids[stage], style_json: reportedStyleJson() });
      await send({ type: "task_completed", stage: "encode", task_id: ids[stage], output: null });
    }
    await send({ type: "job_completed" });
    const done = await view(key, job.id);
    expect(done.status).toBe("completed");
    expect(done.style.style_json.tempo_bpm).toBe(120);

    const bad = await createJob(key, { input: SOURCE, style: { template: TEMPLATE } });
    const sendBad = encoderFor(await orderOf(bad.id));
    const badIds = stageIds(bad);
    await sendBad({ type: "task_started", stage: "encode", task_id: badIds.video_analysis });
    const error = { code: "input_unreadable", message: "The template: moov atom not found" };
    expect(await sendBad({ type: "task_failed", stage: "encode", task_id: badIds.video_analysis, error })).toEqual({ status: 200, directive: "cancel" });
    const failed = await view(key, bad.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toEqual(error);
    expect(failed.tasks.find((t: { kind: string }) => t.kind === "video_analysis")).toMatchObject({ status: "failed", error });
    // The output's task never ran: the failed job cancels it, as any job's unstarted outputs.
    expect(failed.outputs[0].status).toBe("canceled");
  });
});
