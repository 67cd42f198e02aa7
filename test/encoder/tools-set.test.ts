import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { EncoderEvent, ToolsOrderInput } from "../../encoder/contract";
import { discoveredOutputId } from "../../encoder/tools/storage-put";
import { encoderSuite } from "./encoder-suite";
import { audioStream, ffprobe, videoStream } from "./ffprobe";

/*
 * The VTK tool set through the real encoder app: real bwrap, real ffmpeg and tar, tiny
 * lavfi media. The sink stands in for the Worker (events, export signing, uploads).
 */

type Steps = ToolsOrderInput["steps"];
type Step = Steps[number];
type Failed = Extract<EncoderEvent, { type: "task_failed" }>;
type Completed = Extract<EncoderEvent, { type: "output_completed" }>;
type Done = Extract<EncoderEvent, { type: "task_completed" }>;
type Discovered = Extract<EncoderEvent, { type: "outputs_discovered" }>;

const ff = (...args: string[]) => execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);

/** ffmpeg's own EBU R128 measurement of a file: the integrated loudness in its summary. */
function measureLufs(file: string): number {
  const result = execFileSync("sh", ["-c", `ffmpeg -hide_banner -nostats -i '${file}' -map 0:a:0 -af ebur128 -f null - 2>&1`], { encoding: "utf8" });
  const lines = result.split("\n").filter((l) => /^\s*I:\s+-?[\d.]+ LUFS/.test(l));
  return Number(/I:\s+(-?[\d.]+)/.exec(lines.at(-1)!)![1]);
}

const suite = encoderSuite("toolset", (scratch) => {
  const source = path.join(scratch, "source.mov");
  ff("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", source);
  // A 1 kHz tone near -39 LUFS, swelling slowly: loudnorm's linear mode needs a loudness range above 0.
  const tone = path.join(scratch, "tone.wav");
  ff("-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=8", "-af", "volume=-14dB,volume='0.6+0.4*sin(2*PI*t/4)':eval=frame", "-c:a", "pcm_s16le", tone);
  // An MPEG-TS whose payload is damaged a third of the way in (packet headers intact): its decoder meets errors.
  const ts = path.join(scratch, "full.ts");
  ff("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "mpegts", ts);
  const bytes = readFileSync(ts);
  for (let i = Math.floor(bytes.length / 3), k = 0; k < 20_000; i++, k++) if (i % 188 > 4) bytes[i] = (i * 7919) & 0xff;
  writeFileSync(path.join(scratch, "corrupt.ts"), bytes);
  // Archives no unpack may accept: a symbolic link, an absolute path, a way out.
  const evil = path.join(scratch, "evil");
  mkdirSync(path.join(evil, "sub"), { recursive: true });
  writeFileSync(path.join(evil, "note.txt"), "x\n");
  symlinkSync("/etc/passwd", path.join(evil, "link"));
  execFileSync("tar", ["-cf", path.join(scratch, "link.tar"), "-C", evil, "note.txt", "link"]);
  execFileSync("tar", ["-cPf", path.join(scratch, "abs.tar"), path.join(evil, "note.txt")]);
  execFileSync("tar", ["-cPf", path.join(scratch, "dots.tar"), "-C", path.join(evil, "sub"), "../note.txt"]);
  return Object.fromEntries(["source.mov", "tone.wav", "corrupt.ts", "link.tar", "abs.tar", "dots.tar"].map((n) => [n, path.join(scratch, n)]));
});
const { workDir, scratch, eventsOf } = suite;
const terminal = (jobId: string) => suite.sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || e.type === "task_failed"));
let n = 0;
const id = (name: string) => `task_${name}_${++n}`;
const get = (...names: string[]): Step => ({ tool: "storage:get", task_id: id("get"), files: names.map((name) => ({ name, url: suite.media.url(name) })) });
const cmd = (args: string[], extra: Partial<Extract<Step, { tool: "ffmpeg:cmd" }>> = {}): Step => ({ tool: "ffmpeg:cmd", task_id: id("cmd"), arguments: args, ...extra });
const put = (files: { name: string; output_id: string }[], patterns?: string[], baseDir?: string): Step => ({
  tool: "storage:put",
  task_id: id("put"),
  files,
  ...(patterns ? { patterns } : {}),
  ...(baseDir ? { base_dir: baseDir } : {}),
});

async function run(jobId: string, steps: Steps) {
  const accepted = await suite.encoder.call("POST", "/work", suite.sink.toolsOrder(jobId, steps));
  expect(accepted.status).toBe(202);
  const end = await terminal(jobId);
  return { end, events: eventsOf(jobId) };
}

const logOf = (events: EncoderEvent[], taskId: string) =>
  events.flatMap((e) => (e.type === "task_log" && e.task_id === taskId ? e.lines.map((l) => l.text) : []));

function saved(name: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-toolset-out-")), name);
  writeFileSync(file, suite.sink.uploads.get(name)!.bytes);
  return file;
}

describe("the VTK tool set", { timeout: 90_000 }, () => {
  it("storage:put matches * and ? in base_dir, announces each match as an output before storing it, and verifies every file", async () => {
    const make = cmd(
      ["-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "out/wild_1.mp4",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-s", "128x72", "out/wild_2.mp4",
        "-frames:v", "1", "out/wild_poster.png"],
      { outputdir: "out" },
    );
    const putStep = put([{ name: "wild_poster.png", output_id: "out_poster" }], ["wild_?.mp4", "*.png"], "out");
    const { end, events } = await run("job_set_wild", [make, putStep]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");

    const discovered = events.filter((e): e is Discovered => e.type === "outputs_discovered");
    // The named file is its planned output; only what the patterns add is announced, with ids a retry would repeat.
    expect(discovered).toHaveLength(1);
    expect(discovered[0]!.outputs).toEqual([
      { output_id: discoveredOutputId(putStep.task_id, "wild_1.mp4"), file: "wild_1.mp4" },
      { output_id: discoveredOutputId(putStep.task_id, "wild_2.mp4"), file: "wild_2.mp4" },
    ]);
    const announcedAt = events.indexOf(discovered[0]!);
    const completed = events.filter((e): e is Completed => e.type === "output_completed");
    expect(completed.map((e) => e.output.output_id).sort()).toEqual(["out_poster", ...discovered[0]!.outputs.map((o) => o.output_id)].sort());
    for (const e of completed) expect(events.indexOf(e)).toBeGreaterThan(announcedAt);

    const facts = Object.fromEntries(completed.map((e) => [e.output.main, e.output]));
    expect(facts["wild_1.mp4"]).toMatchObject({ codec: "h264", width: 160, height: 90 });
    expect(facts["wild_2.mp4"]).toMatchObject({ codec: "h264", width: 128, height: 72 });
    expect(facts["wild_poster.png"]).toMatchObject({ codec: "png", width: 160, height: 90 });
    for (const name of ["wild_1.mp4", "wild_2.mp4", "wild_poster.png"]) expect(suite.sink.uploads.get(name)!.sha256).toBe(facts[name]!.sha256);
    expect(videoStream(ffprobe(saved("wild_2.mp4")))).toMatchObject({ codec_name: "h264", width: 128, height: 72 });
    expect(logOf(events, putStep.task_id).join("\n")).toMatch(/wild_\?\.mp4, \*\.png matched wild_1\.mp4, wild_2\.mp4/);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("storage:put fails a pattern that matches nothing with file_missing", async () => {
    const putStep = put([], ["*.nothing"]);
    const { end } = await run("job_set_nomatch", [get("source.mov"), putStep]);
    expect(end).toMatchObject({ type: "task_failed", task_id: putStep.task_id, error: { code: "file_missing" } });
    expect((end as Failed).error.message).toMatch(/matches \*\.nothing/);
  });

  it("storage:get reports on its task_completed the bytes it wrote: the sum of its files' sizes, per step", async () => {
    const both = get("source.mov", "tone.wav");
    const again = get("source.mov");
    const { end, events } = await run("job_set_bytes_in", [both, again]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");
    const size = (name: string) => statSync(path.join(scratch, name)).size;
    const reported = (taskId: string) => events.find((e): e is Done => e.type === "task_completed" && e.task_id === taskId)?.bytes_in;
    expect(size("source.mov")).toBeGreaterThan(0);
    expect(reported(both.task_id)).toBe(size("source.mov") + size("tone.wav"));
    expect(reported(again.task_id)).toBe(size("source.mov"));
  });

  describe("storage:check", () => {
    const check = (mode: "FAIL_ON_PRESENCE" | "COMPLETE_ON_PRESENCE" | "FAIL_ON_ABSENCE", ...names: string[]): Step => ({
      tool: "storage:check",
      task_id: id("check"),
      mode,
      files: names.map((name) => ({ name, url: suite.media.url(name) })),
    });

    it("FAIL_ON_PRESENCE fails when a file is there and passes when none is", async () => {
      const present = check("FAIL_ON_PRESENCE", "gone.mov", "source.mov");
      const failed = await run("job_set_presence", [present, get("source.mov")]);
      expect(failed.end).toMatchObject({ type: "task_failed", stage: "import", task_id: present.task_id, error: { code: "check_failed" } });
      expect((failed.end as Failed).error.message).toMatch(/source\.mov/);
      expect(logOf(failed.events, present.task_id)).toEqual(["gone.mov: absent", "source.mov: present"]);

      const passing = check("FAIL_ON_PRESENCE", "gone.mov");
      expect((await run("job_set_presence_ok", [passing, get("source.mov")])).end.type).toBe("job_completed");
    });

    it("FAIL_ON_ABSENCE fails when a file is missing and passes when all are there", async () => {
      const missing = check("FAIL_ON_ABSENCE", "source.mov", "gone.mov");
      const failed = await run("job_set_absence", [missing]);
      expect(failed.end).toMatchObject({ type: "task_failed", task_id: missing.task_id, error: { code: "check_failed" } });
      expect((failed.end as Failed).error.message).toMatch(/gone\.mov/);
      expect((await run("job_set_absence_ok", [check("FAIL_ON_ABSENCE", "source.mov", "tone.wav")])).end.type).toBe("job_completed");
    });

    it("COMPLETE_ON_PRESENCE completes the job at once when all are there, every later task skipped; otherwise it goes on", async () => {
      const done = check("COMPLETE_ON_PRESENCE", "source.mov");
      const later = [get("source.mov"), cmd(["-i", "source.mov", "-c", "copy", "never.mp4"])];
      const { end, events } = await run("job_set_complete", [done, ...later]);
      expect(end.type).toBe("job_completed");
      expect(events.filter((e) => e.type === "task_skipped").map((e) => (e as { task_id: string }).task_id)).toEqual(later.map((s) => s.task_id));
      expect(events.some((e) => e.type === "task_started" && e.task_id !== done.task_id)).toBe(false);

      const absent = check("COMPLETE_ON_PRESENCE", "source.mov", "gone.mov");
      const goesOn = get("source.mov");
      const next = await run("job_set_complete_no", [absent, goesOn]);
      expect(next.end.type).toBe("job_completed");
      expect(next.events.some((e) => e.type === "task_completed" && e.task_id === goesOn.task_id)).toBe(true);
      expect(next.events.some((e) => e.type === "task_skipped")).toBe(false);
    });
  });

  it("utils:env sets variables that ${NAME} substitutes into later ffmpeg arguments, outputdir made first; an unset one fails", async () => {
    const env: Step = { tool: "utils:env", task_id: id("env"), variables: { SIZE: "192x108", CODEC: "libx264", TAG: "${CODEC}-small" } };
    const make = cmd(["-y", "-i", "source.mov", "-s", "${SIZE}", "-c:v", "${CODEC}", "-preset", "ultrafast", "-metadata", "comment=${TAG}", "-an", "made/env_out.mp4"], { outputdir: "made" });
    const { end, events } = await run("job_set_env", [get("source.mov"), env, make, put([{ name: "env_out.mp4", output_id: "out_env" }], undefined, "made")]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");
    expect(logOf(events, env.task_id)).toEqual(["SIZE=192x108", "CODEC=libx264", "TAG=libx264-small"]);
    const probed = ffprobe(saved("env_out.mp4"));
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 192, height: 108 });
    expect(execFileSync("ffprobe", ["-v", "error", "-show_entries", "format_tags=comment", "-of", "default=nw=1:nk=1", saved("env_out.mp4")], { encoding: "utf8" }).trim()).toBe("libx264-small");

    const unset = cmd(["-y", "-i", "source.mov", "-s", "${NOPE}", "x.mp4"]);
    const failed = await run("job_set_env_unset", [get("source.mov"), unset]);
    expect(failed.end).toMatchObject({ type: "task_failed", task_id: unset.task_id, error: { code: "variable_undefined" } });
    expect((failed.end as Failed).error.message).toMatch(/\$\{NOPE\}/);
  });

  it("ffmpeg:cmd runs with -xerror unless decoding errors are ignored", async () => {
    const strict = cmd(["-y", "-i", "corrupt.ts", "-c:v", "libx264", "-preset", "ultrafast", "strict.mp4"], { ignore_decoding_errors: false });
    const failed = await run("job_set_xerror", [get("corrupt.ts"), strict]);
    expect(failed.end).toMatchObject({ type: "task_failed", task_id: strict.task_id, error: { code: "encode_failed" } });
    expect((failed.end as Failed).error.message).toMatch(/error while decoding|corrupt/);

    const lenient = cmd(["-y", "-i", "corrupt.ts", "-c:v", "libx264", "-preset", "ultrafast", "lenient.mp4"], { ignore_decoding_errors: true });
    const ok = await run("job_set_lenient", [get("corrupt.ts"), lenient, put([{ name: "lenient.mp4", output_id: "out_lenient" }])]);
    expect(ok.end.type, JSON.stringify(ok.end)).toBe("job_completed");
    expect(logOf(ok.events, lenient.task_id).join("\n")).toMatch(/error while decoding|corrupt/);
    expect(videoStream(ffprobe(saved("lenient.mp4")))).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
  });

  it("utils:rename renames files by a regex's named groups; a clash fails before anything moves", async () => {
    const make = cmd(["-y", "-f", "lavfi", "-i", "testsrc2=size=64x36:rate=5:duration=0.4", "-c:v", "libx264", "-preset", "ultrafast", "clip_en.mp4", "-c:v", "libx264", "-preset", "ultrafast", "clip_de.mp4"]);
    const rename: Step = { tool: "utils:rename", task_id: id("rename"), pattern: "clip_(?<lang>[a-z]+)\\.(?<ext>mp4)", template: "video-{lang}.{ext}", base_dir: "" };
    const putStep = put([], ["video-*.mp4"]);
    const { end, events } = await run("job_set_rename", [make, rename, putStep]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");
    expect(logOf(events, rename.task_id).sort()).toEqual(["clip_de.mp4 → video-de.mp4", "clip_en.mp4 → video-en.mp4"]);
    const stored = events.filter((e): e is Completed => e.type === "output_completed").map((e) => e.output.main).sort();
    expect(stored).toEqual(["video-de.mp4", "video-en.mp4"]);
    expect(videoStream(ffprobe(saved("video-de.mp4")))).toMatchObject({ codec_name: "h264", width: 64, height: 36 });

    const clash: Step = { tool: "utils:rename", task_id: id("rename"), pattern: "clip_(?<lang>[a-z]+)\\.mp4", template: "same.mp4", base_dir: "" };
    const failed = await run("job_set_rename_clash", [{ ...make, task_id: id("cmd") }, clash, put([{ name: "clip_en.mp4", output_id: "out_kept" }])]);
    expect(failed.end).toMatchObject({ type: "task_failed", task_id: clash.task_id, error: { code: "rename_conflict" } });
  });

  it("utils:tar packs files into a .tar.gz and unpacks it into a directory", async () => {
    const make = cmd(["-y", "-f", "lavfi", "-i", "testsrc2=size=64x36:rate=5:duration=0.4", "-c:v", "libx264", "-preset", "ultrafast", "part_a.mp4", "-frames:v", "1", "part_b.png"]);
    const pack: Step = { tool: "utils:tar", task_id: id("pack"), mode: "pack", archive: "bundle.tar.gz", files: ["part_*"], base_dir: "" };
    const unpack: Step = { tool: "utils:tar", task_id: id("unpack"), mode: "unpack", archive: "bundle.tar.gz", base_dir: "unpacked" };
    const putStep = put([{ name: "part_a.mp4", output_id: "out_part_a" }, { name: "part_b.png", output_id: "out_part_b" }], undefined, "unpacked");
    const { end, events } = await run("job_set_tar", [make, pack, unpack, putStep, put([{ name: "bundle.tar.gz", output_id: "out_bundle" }])]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");
    expect(logOf(events, pack.task_id)[0]).toBe("packing 2 files into bundle.tar.gz: part_a.mp4, part_b.png");
    const listed = execFileSync("tar", ["-tzf", saved("bundle.tar.gz")], { encoding: "utf8" }).trim().split("\n").sort();
    expect(listed).toEqual(["part_a.mp4", "part_b.png"]);
    const completed = events.filter((e): e is Completed => e.type === "output_completed").map((e) => e.output);
    expect(completed.find((o) => o.output_id === "out_part_a")).toMatchObject({ codec: "h264", width: 64 });
    expect(completed.find((o) => o.output_id === "out_part_b")).toMatchObject({ codec: "png" });
  });

  it.each([
    ["a symbolic link", "link.tar", /link is a symbolic link/],
    ["an absolute path", "abs.tar", /is an absolute path/],
    ["a member leaving the directory", "dots.tar", /leaves the directory/],
  ])("utils:tar refuses to unpack an archive with %s, and extracts nothing", async (_label, archive, message) => {
    const unpack: Step = { tool: "utils:tar", task_id: id("unpack"), mode: "unpack", archive, base_dir: "x" };
    const after = put([], ["*"], "x");
    const { end, events } = await run(`job_set_tar_${archive.replace(".", "_")}`, [get(archive), unpack, after]);
    expect(end).toMatchObject({ type: "task_failed", task_id: unpack.task_id, error: { code: "archive_refused" } });
    expect((end as Failed).error.message).toMatch(message);
    expect(events.some((e) => e.type === "task_started" && e.task_id === after.task_id)).toBe(false);
  });

  it("ffmpeg:loudnorm_analyze measures a tone into the environment, normalises it linearly, and the output measures within 1 LU of the target", async () => {
    const analyze: Step = {
      tool: "ffmpeg:loudnorm_analyze",
      task_id: id("loud"),
      input_file: "tone.wav",
      audio_selector: "0:a:0",
      env_prefix: "my_audio_",
      integrated_loudness_target: -16,
      maximum_true_peak: -1.5,
      loudness_range_target: 11,
      output_args: ["-c:a", "aac", "-b:a", "128k", "tone_norm.m4a"],
    };
    // The measured values reach a later task through ${NAME}.
    const tag = cmd(["-y", "-i", "tone_norm.m4a", "-c", "copy", "-metadata", "comment=${my_audio_input_i}/${my_audio_normalization_type}", "tone_tagged.m4a"]);
    const { end, events } = await run("job_set_loudnorm", [get("tone.wav"), analyze, tag, put([{ name: "tone_tagged.m4a", output_id: "out_tone" }])]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");

    const log = logOf(events, analyze.task_id);
    const variable = (name: string) => log.find((l) => l.startsWith(`my_audio_${name}=`))?.split("=")[1];
    const inputI = Number(variable("input_i"));
    const source = measureLufs(path.join(scratch, "tone.wav"));
    expect(Math.abs(inputI - source)).toBeLessThan(0.5);
    // The analysis pass reports as loudnorm's first pass does; the second pass says how it applied it.
    expect(variable("normalization_type")).toBe("dynamic");
    expect(log.some((l) => /Normalization Type:\s+Linear/i.test(l))).toBe(true);
    expect(log.some((l) => /integrated loudness -1[5-7](\.\d+)? LUFS, target -16 LUFS/.test(l))).toBe(true);

    const file = saved("tone_tagged.m4a");
    expect(audioStream(ffprobe(file))).toMatchObject({ codec_name: "aac", sample_rate: "48000" });
    expect(Math.abs(measureLufs(file) - -16)).toBeLessThanOrEqual(1);
    expect(Math.abs(source - -16)).toBeGreaterThan(5);
    const comment = execFileSync("ffprobe", ["-v", "error", "-show_entries", "format_tags=comment", "-of", "default=nw=1:nk=1", file], { encoding: "utf8" }).trim();
    expect(comment).toBe(`${variable("input_i")}/dynamic`);
  });

  it("ffmpeg:loudnorm_analyze fails with loudness_out_of_range when the output cannot reach the target", async () => {
    // -5 LUFS under a -9 dBTP ceiling cannot be had from a sine: loudnorm limits instead.
    const analyze: Step = {
      tool: "ffmpeg:loudnorm_analyze",
      task_id: id("loud"),
      input_file: "tone.wav",
      audio_selector: "0:a:0",
      env_prefix: "",
      integrated_loudness_target: -5,
      maximum_true_peak: -9,
      loudness_range_target: 7,
      output_args: ["-c:a", "pcm_s16le", "loud.wav"],
    };
    const { end } = await run("job_set_loudnorm_range", [get("tone.wav"), analyze]);
    expect(end).toMatchObject({ type: "task_failed", task_id: analyze.task_id, error: { code: "loudness_out_of_range" } });
    expect((end as Failed).error.message).toMatch(/LU from the target -5 LUFS/);
  });

  it("runs consecutive parallel steps at the same time, and the next step after all of them", async () => {
    const encode = (name: string): Step => ({
      ...cmd(["-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4", "-c:v", "libx264", "-preset", "medium", "-threads", "1", `${name}.mp4`]),
      parallel: true,
    });
    const a = encode("par_a");
    const b = encode("par_b");
    const after = put([{ name: "par_a.mp4", output_id: "out_par_a" }, { name: "par_b.mp4", output_id: "out_par_b" }]);
    const { end, events } = await run("job_set_parallel", [a, b, after]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");
    const at = (type: string, taskId: string) => Date.parse(events.find((e) => e.type === type && "task_id" in e && e.task_id === taskId)!.at);
    // Overlap: each started before the other finished.
    expect(at("task_started", a.task_id)).toBeLessThan(at("task_completed", b.task_id));
    expect(at("task_started", b.task_id)).toBeLessThan(at("task_completed", a.task_id));
    expect(at("task_started", after.task_id)).toBeGreaterThanOrEqual(Math.max(at("task_completed", a.task_id), at("task_completed", b.task_id)));
  });

  it("fails the job after a parallel group's other steps finish, and runs nothing after the group", async () => {
    const good: Step = { ...cmd(["-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "ok.mp4"]), parallel: true };
    const bad: Step = { ...cmd(["-y", "-i", "missing.mov", "bad.mp4"]), parallel: true };
    const after = put([{ name: "ok.mp4", output_id: "out_ok" }]);
    const { end, events } = await run("job_set_parallel_fail", [bad, good, after]);
    expect(end).toMatchObject({ type: "task_failed", task_id: bad.task_id, error: { code: "file_missing" } });
    const goodDone = events.findIndex((e) => e.type === "task_completed" && e.task_id === good.task_id);
    expect(goodDone).toBeGreaterThan(-1);
    expect(goodDone).toBeLessThan(events.indexOf(end));
    expect(events.some((e) => e.type === "task_started" && e.task_id === after.task_id)).toBe(false);
  });
});
