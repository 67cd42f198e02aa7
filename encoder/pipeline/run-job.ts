import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type ContentAwareDecision, type EncodeSpec, type OutputFacts, type OutputSpec, type TranscodeOrder, clipOutOfRange, publishedProgressively } from "../contract";
import { PipelineError, toFailure } from "../errors";
import type { FfmpegCommand, SourceInfo } from "../ffmpeg/command";
import type { Cores } from "../ffmpeg/cores";
import { buildEncodeCommand } from "../ffmpeg/encode";
import { type TimeWindow, timeWindow, wholeSource } from "../ffmpeg/framing";
import type { SubtitleRendition } from "../ffmpeg/playlists";
import { fallsShort, probeStreams, requireStreams } from "../ffmpeg/probe";
import { buildRenditionsCommand } from "../ffmpeg/renditions";
import { type GrowingInput, runFfmpeg } from "../ffmpeg/runner";
import type { WarmProbes } from "../ffmpeg/warm-probes";
import { runPostStep } from "../media/post-step";
import { type TestNetwork, networkAccess } from "../net/guarded-fetch";
import { type MeasuredComplexity, contentAwareDecision, measureComplexity } from "./content-aware";
import { type MadeOutput, exportOutputs, listFiles } from "./export";
import { JobInput } from "./input";
import { editMaster, finishPackage, settleMediaPlaylists } from "./packages";
import { type ProgressivePackage, ProgressivePublisher } from "./progressive-publish";
import type { Reporter } from "./reporter";
import { prepareSubtitles } from "./subtitles";
import { type VerifiedFacts, type VerifyOptions, verifyOutput, verifyRenditions } from "./verify";
import { withWorkDir } from "./workdir";
import { overDuration, overFrameBudget } from "./input-limits";

export interface JobRuntime {
  signal: AbortSignal;
  reporter: Reporter;
  allowPrivateNetworks: boolean;
  /** TEST-ONLY: exempt endpoints and a resolver for every request to a user-supplied URL. */
  testNetwork?: TestNetwork;
  ffmpeg?: string;
  ffprobe?: string;
  /** How long readers of an input still arriving wait for its next bytes (see JobInput). */
  growingInputWaitMs?: number;
  /** ffprobe processes already started, for the input and outputs that read front to back. */
  warmProbes?: WarmProbes;
  /** The encoder's cores, shared by its jobs: every encode waits for one (see Cores). */
  cores?: Cores;
}

/** Shares of overall progress per stage; encode is split between tasks by media duration. */
const WEIGHT = { import: 10, probe: 2, encode: 80, export: 8 } as const;
const INPUT_FILE = "input";

type Stage = "import" | "probe" | "encode" | "export";

/**
 * Runs one attempt of a job: import → probe → encode → export, inside a working
 * directory that is removed afterwards. Kind tasks run one ffmpeg each; all Transcodely
 * outputs run as one ffmpeg (one decode), and one run each if that shared run fails. An
 * input failure ends the job; a failed output is reported and the others still finish.
 * A probe-only order (delayed start) stops after the probe and its checks.
 */
export async function runJob(order: TranscodeOrder, runtime: JobRuntime): Promise<void> {
  const { reporter, signal } = runtime;
  // Which stage a failure happened in; written as the work goes.
  const at: { stage: Stage } = { stage: "import" };
  // The last word is sent after the working directory is gone, so "done" means clean.
  let last: Parameters<Reporter["send"]>[0];
  try {
    await withWorkDir(order.job_id, order.attempt, async (dir) => {
      // Events are queued in order and not waited for: the encode does not sit behind
      // round trips to the Worker. Only the probe's completion is awaited (its answer can
      // pause or cancel the job) and the final word.
      void reporter.send({ type: "task_started", stage: "import", task_id: null });
      const input = new JobInput(order, dir, INPUT_FILE, {
        signal,
        network: networkAccess(runtime),
        growingWaitMs: runtime.growingInputWaitMs,
        onProgress: (bytes, total) => reporter.progress("import", null, (bytes / total) * 100, (bytes / total) * WEIGHT.import),
        onImported: () => void reporter.send({ type: "task_completed", stage: "import", task_id: null, output: null }),
      });
      try {
        await processInput(order, runtime, dir, input, at);
      } finally {
        // Nothing the job started may outlive its working directory.
        await input.close();
      }
    });
    // A probe-only order's last word was the probe's completion.
    if (order.probe_only) return;
    last = { type: "job_completed" };
  } catch (err) {
    const failure = signal.aborted ? { code: "canceled" as const, message: "The job was canceled" } : toFailure(err, at.stage === "export" ? "export_failed" : "encode_failed");
    last = { type: "task_failed", stage: at.stage, task_id: null, error: failure };
  }
  await reporter.send(last);
}

/**
 * Probe → encode → export of an input being imported. A faststart MP4, an MPEG-TS or a
 * Matroska input is probed and encoded as it arrives (see JobInput); what was read early
 * and gave any trouble is read again from the whole file.
 */
async function processInput(order: TranscodeOrder, runtime: JobRuntime, dir: string, input: JobInput, at: { stage: Stage }): Promise<void> {
  const { reporter, signal } = runtime;
  /** The whole input, or the import's failure as the job's. */
  const wholeInput = () =>
    input.whole().catch((err: unknown) => {
      at.stage = "import";
      throw err;
    });
  const early = order.probe_only ? null : await input.readableEarly();
  if (!early) await input.whole();

  at.stage = "probe";
  void reporter.send({ type: "task_started", stage: "probe", task_id: null });
  // Whatever goes wrong probing the file as it arrives, the whole file decides.
  const piped = early && { bytes: (stop: AbortSignal) => input.arriving(stop), sizeBytes: early.sizeBytes, warm: runtime.warmProbes?.take() };
  const probedEarly = !piped
    ? null
    : await probeStreams(INPUT_FILE, dir, { ffprobe: runtime.ffprobe, signal: input.readSignal, piped, timing: early.timingFile }).catch(async (err: unknown) => {
        if (signal.aborted) throw err;
        await wholeInput();
        return null;
      });
  const { result: probed, verify } = probedEarly ?? (await probeStreams(INPUT_FILE, dir, { ffprobe: runtime.ffprobe, signal }));
  const tooLong = overDuration(probed.metadata, order.limits);
  if (tooLong) {
    // A header can claim hours the data does not hold: a file whose data stops short
    // of what it declares is damaged (input_unreadable), not too long.
    await wholeInput();
    await verify();
    throw tooLong;
  }
  const tooManyFrames = overFrameBudget(probed.metadata, order.limits);
  if (tooManyFrames) throw tooManyFrames;
  void reporter.send({ type: "metadata", input_metadata: probed.metadata });
  // The Worker fails the job on the metadata too; this is the encoder's own word, at the probe.
  if (order.clip && clipOutOfRange(order.clip, probed.metadata.duration_ms)) {
    throw new PipelineError("input_clip_out_of_range", `The clip starts at ${order.clip.start_seconds} s; the input lasts ${probed.metadata.duration_ms / 1000} s`);
  }
  const kindTasks = order.tasks.filter(isKindTask);
  const outputTasks = order.tasks.filter(isOutputTask);
  // Input problems are found for every task before any encoding starts.
  const requireAllStreams = () => {
    for (const task of kindTasks) requireStreams(probed, task.spec.kind);
    if (outputTasks.length > 0) requireStreams(probed, "video");
  };
  if (order.probe_only) {
    // The job will wait for confirmation: everything that could fail it later is checked now.
    requireAllStreams();
    await verify();
    await reporter.send({ type: "task_completed", stage: "probe", task_id: null, output: null });
    return;
  }
  await reporter.send({ type: "task_completed", stage: "probe", task_id: null, output: null });
  reporter.progress("probe", null, 100, WEIGHT.import + WEIGHT.probe);

  at.stage = "encode";
  requireAllStreams();
  // The probe's answer may have paused or canceled the job: nothing more runs.
  if (signal.aborted) throw new PipelineError("canceled", "The job was canceled");
  // The damage checks (a first-frame decode, a read of the tail: two more ffprobe runs
  // that would share the CPU with the encode) run only when the encode gives cause: a
  // failed run, an output short of the media it should cover, a failed verification.
  // An encode that got through has decoded the input itself. A damaged input fails
  // the job as the probe would have.
  let damageCheck: Promise<unknown> | undefined;
  const failIfDamaged = async () => {
    await wholeInput();
    const damage = await (damageCheck ??= verify().then(() => null, (err: unknown) => err));
    if (signal.aborted) throw new PipelineError("canceled", "The job was canceled");
    if (damage) {
      at.stage = "probe";
      throw damage;
    }
  };
  const source = { ...probed.source, file: INPUT_FILE };
  // What every output covers: the clip (its end clamped to the input's), or the whole input.
  const clip = order.clip ? timeWindow({ start: order.clip.start_seconds, end: order.clip.end_seconds }, source.durationS) : wholeSource(source);
  const verifyOptions = { ffprobe: runtime.ffprobe, signal, warmProbes: runtime.warmProbes };

  // Outputs whose own inputs (subtitle files) or plans fail are failed alone, before the shared run.
  const ready: ReadyOutput[] = [];
  for (const task of outputTasks) {
    try {
      buildRenditionsCommand([{ outputId: task.output_id, spec: task.spec }], source, clip);
      const staging = `subtitles_${task.output_id}`;
      const tracks = task.spec.subtitles ?? [];
      const context = { dir, limits: order.limits, network: networkAccess(runtime), signal, ffmpeg: runtime.ffmpeg, clip };
      const mpegts = task.spec.hls?.segment_type === "ts";
      const renditions = tracks.length === 0 ? [] : await prepareSubtitles(task.output_id, staging, tracks, mpegts, context);
      ready.push({ task, subtitles: { staging, renditions } });
    } catch (err) {
      if (signal.aborted) throw err;
      reportTaskFailure(reporter, task.task_id, err);
    }
  }
  // Content-aware outputs share one complexity probe of the source; if it fails, only they fail.
  if (ready.some((r) => r.task.spec.content_aware)) {
    try {
      // It seeks through the input: all of it must be there.
      await wholeInput();
      const measured = await measureComplexity(source, { cwd: dir, signal, ffmpeg: runtime.ffmpeg, clip, cores: runtime.cores });
      for (const r of ready) if (r.task.spec.content_aware) r.contentAware = measured;
    } catch (err) {
      if (signal.aborted) throw err;
      await failIfDamaged();
      for (const r of ready.filter((r) => r.task.spec.content_aware)) reportTaskFailure(reporter, r.task.task_id, err);
      ready.splice(0, ready.length, ...ready.filter((r) => !r.task.spec.content_aware));
    }
  }
  const units: EncodeUnit[] = [
    ...(ready.length > 0 ? [renditionsUnit(ready, source, clip, dir, verifyOptions)] : []),
    ...kindTasks.map((task) => kindUnit(task, source, clip, dir, verifyOptions)),
  ];

  let totalSeconds = units.reduce((sum, u) => sum + Math.max(u.command.durationS, 0.001), 0);
  let doneSeconds = 0;
  const made: MadeOutput[] = [];
  // Each output's ffprobe verification runs beside the next encode and the export;
  // an output is reported completed only once it is verified.
  const verifications = new Map<string, Promise<VerifiedFacts>>();
  const manifests = new Map<string, string>();
  const decisions = new Map<string, ContentAwareDecision>();
  const started = new Set<string>();
  for (let unit = units.shift(); unit; unit = units.shift()) {
    for (const { task } of unit.outputs) {
      if (started.has(task.task_id)) continue;
      started.add(task.task_id);
      void reporter.send({ type: "task_started", stage: "encode", task_id: task.task_id });
    }
    const seconds = Math.max(unit.command.durationS, 0.001);
    const base = WEIGHT.import + WEIGHT.probe + (doneSeconds / totalSeconds) * WEIGHT.encode;
    // A shared run is every output's progress at once: reported once, for the stage.
    const progressTask = unit.outputs.length === 1 ? unit.outputs[0]!.task.task_id : null;
    let growing: GrowingInput | undefined;
    let failure: unknown = null;
    let short = false;
    let published = new Map<string, ReadonlyMap<string, string>>();
    try {
      await unit.prepare?.();
      // A command that reads the input in a way its arriving bytes cannot serve waits for all of them.
      if (!input.readableBy(unit.command.args)) await wholeInput();
      const run = async () => {
        // Decided once the run holds its core: an input that arrived meanwhile is read whole.
        growing = input.growing();
        const publisher =
          unit.progressive && unit.progressive.length > 0
            ? new ProgressivePublisher(order, dir, unit.progressive, {
                signal: input.readSignal,
                network: networkAccess(runtime),
                onPlayable: (pkg) => void reporter.send({ type: "output_playable", task_id: pkg.taskId, output_id: pkg.outputId, main: pkg.main }),
              })
            : null;
        try {
          return await runFfmpeg(unit.command, {
            cwd: dir,
            signal: input.readSignal,
            ffmpeg: runtime.ffmpeg,
            growingInput: growing,
            onProgress: (f) => reporter.progress("encode", progressTask, f * 100, base + f * (seconds / totalSeconds) * WEIGHT.encode),
          });
        } finally {
          if (publisher) published = await publisher.finish();
        }
      };
      const outcome = await (runtime.cores ? runtime.cores.hold(input.readSignal, run) : run());
      // ffmpeg ends without an error where a cut-short input's data ends.
      short = fallsShort(outcome.reachedS, unit.command.durationS);
      // Of an input still arriving, it also skips what came later than it would wait.
      if (growing && (short || outcome.loggedErrors)) failure = new PipelineError("encode_failed", "Part of the input arrived too late to be read");
      // Of a whole input, ffmpeg conceals damage and exits 0 with an output made of guesses.
      else if (!growing && outcome.inputDamage) failure = new PipelineError("input_unreadable", `The input is damaged: ${outcome.inputDamage}`);
    } catch (err) {
      if (signal.aborted) throw err;
      failure = err;
    }
    doneSeconds += seconds;
    if (failure && growing) {
      // Once the whole input is there (or its import has failed the job): the same run again.
      await wholeInput();
      totalSeconds += seconds;
      units.unshift(unit);
      continue;
    }
    if (failure || short) await failIfDamaged();
    if (failure instanceof PipelineError && failure.code === "input_unreadable") {
      // Damage the checks missed (they read the file's ends) that ffmpeg met reading it:
      // the input's failure, the job's as the probe's would have been, for every output.
      at.stage = "probe";
      throw failure;
    }
    if (failure) {
      const parts = unit.outputs.length > 1 ? unit.split?.() : undefined;
      if (parts) {
        // One ffmpeg for all outputs means one failure stops all: each output gets a run
        // of its own, so only the output that cannot be made fails.
        totalSeconds += parts.reduce((sum, u) => sum + Math.max(u.command.durationS, 0.001), 0);
        units.unshift(...parts);
      } else {
        for (const { task } of unit.outputs) reportTaskFailure(reporter, task.task_id, failure);
      }
      continue;
    }
    for (const output of unit.outputs) {
      try {
        await output.finish?.();
        made.push({ outputId: output.task.output_id, main: output.main, files: await output.files(), published: published.get(output.task.output_id) });
        if (output.manifest) manifests.set(output.task.task_id, output.manifest);
        if (output.contentAware) decisions.set(output.task.task_id, output.contentAware);
        const verification = output.verify();
        // Observed later, after export; until then a failure must not count as unhandled.
        verification.catch(() => {});
        verifications.set(output.task.task_id, verification);
      } catch (err) {
        if (signal.aborted) throw err;
        await failIfDamaged();
        reportTaskFailure(reporter, output.task.task_id, err);
      }
    }
  }

  await wholeInput();
  at.stage = "export";
  if (made.length > 0) {
    void reporter.send({ type: "task_started", stage: "export", task_id: null });
    const verified = Promise.allSettled(verifications.values());
    // Nothing the job started may outlive its working directory.
    const exported = await exportOutputs(order, dir, made, signal, networkAccess(runtime)).finally(() => verified);
    // Before any output is reported: a damaged input fails the job, not one output.
    if ((await verified).some((v) => v.status === "rejected")) await failIfDamaged();
    const byOutput = new Map(exported.map((o) => [o.output_id, o]));
    for (const task of order.tasks) {
      const stored = byOutput.get(task.output_id);
      const verification = verifications.get(task.task_id);
      if (!stored || !verification) continue;
      try {
        const manifest = manifests.get(task.task_id);
        const decision = decisions.get(task.task_id);
        const output: OutputFacts = { ...stored, ...(await verification), ...(manifest ? { manifest } : {}), ...(decision ? { content_aware: decision } : {}) };
        void reporter.send({ type: "task_completed", stage: "encode", task_id: task.task_id, output });
      } catch (err) {
        // Its files were stored, but the Worker records outputs only from task_completed.
        reportTaskFailure(reporter, task.task_id, err);
      }
    }
    void reporter.send({ type: "task_completed", stage: "export", task_id: null, output: null });
  }
  reporter.progress("export", null, 100, 100);
}

function reportTaskFailure(reporter: Reporter, taskId: string, err: unknown): void {
  void reporter.send({ type: "task_failed", stage: "encode", task_id: taskId, error: toFailure(err, "encode_failed") });
}

type WorkTask = TranscodeOrder["tasks"][number];
type KindTask = WorkTask & { spec: EncodeSpec };
type OutputTask = WorkTask & { spec: OutputSpec };
const isOutputTask = (t: WorkTask): t is OutputTask => t.spec.kind === "output";
const isKindTask = (t: WorkTask): t is KindTask => t.spec.kind !== "output";

interface ReadyOutput {
  task: OutputTask;
  subtitles: { staging: string; renditions: SubtitleRendition[] };
  /** The complexity probe's result, for a content-aware output. */
  contentAware?: MeasuredComplexity;
}

/** One ffmpeg run and the outputs it makes. */
interface EncodeUnit {
  command: FfmpegCommand;
  outputs: {
    task: WorkTask;
    main: string;
    manifest?: string;
    /** A content-aware output's per-title decision, reported with its facts. */
    contentAware?: ContentAwareDecision;
    /** Completes the output after the run (a post step, playlist edits). */
    finish?: () => Promise<void>;
    files: () => Promise<string[]>;
    verify: () => Promise<VerifiedFacts>;
  }[];
  /** Packages published while the run writes them. */
  progressive?: ProgressivePackage[];
  /** Before the run: a clean place for its files. */
  prepare?: () => Promise<void>;
  /** The same outputs as one run each, for when a shared run fails. */
  split?: () => EncodeUnit[];
}

function kindUnit(task: KindTask, source: SourceInfo, clip: TimeWindow, dir: string, verifyOptions: VerifyOptions): EncodeUnit {
  // The adaptive_video kind's package is HLS, never encrypted.
  const progressive = task.spec.kind === "adaptive_video" && publishedProgressively(task.spec.format, null);
  const command = buildEncodeCommand(task.spec, source, task.output_id, clip, { progressive });
  const root = path.dirname(command.main);
  return {
    command,
    outputs: [
      {
        task,
        main: command.main,
        finish: command.post ? () => runPostStep(command.post!, dir) : progressive ? () => settleMediaPlaylists(dir, root, command.main, "vod") : undefined,
        files: () => outputFiles(command, dir),
        verify: () => verifyOutput(command, dir, verifyOptions),
      },
    ],
    progressive: progressive ? [{ outputId: task.output_id, taskId: task.task_id, main: command.main, editMaster: (master) => master }] : [],
    // What an earlier run published from must not end up in this run's package.
    prepare: progressive ? () => rm(path.join(dir, root), { recursive: true, force: true }) : undefined,
  };
}

/** Every ready Transcodely output from one ffmpeg run (one decode); split per output if that run fails. */
function renditionsUnit(ready: ReadyOutput[], source: SourceInfo, clip: TimeWindow, dir: string, verifyOptions: VerifyOptions): EncodeUnit {
  const command = buildRenditionsCommand(
    ready.map(({ task, contentAware }) => ({ outputId: task.output_id, spec: task.spec, contentAware, progressive: publishedProgressively(task.spec.type, task.spec.drm?.scheme) })),
    source,
    clip,
  );
  return {
    command,
    progressive: command.layouts.flatMap((layout, i) =>
      layout.progressive ? [{ outputId: layout.outputId, taskId: ready[i]!.task.task_id, main: layout.main, editMaster: (master: string) => editMaster(layout, master, []) }] : [],
    ),
    outputs: command.layouts.map((layout, i) => {
      const { task, subtitles, contentAware } = ready[i]!;
      return {
        task,
        main: layout.main,
        manifest: layout.manifest,
        contentAware: contentAware ? contentAwareDecision(layout, contentAware) : undefined,
        finish: () => finishPackage(layout, task.spec, dir, subtitles, command.durationS),
        files: () => listFiles(dir, layout.root),
        verify: () => verifyRenditions(layout, dir, verifyOptions),
      };
    }),
    prepare: async () => {
      // Key files stay until the working directory goes: verification reads them too.
      for (const secret of command.secretFiles) await writeFile(path.join(dir, secret.path), secret.data, { mode: 0o600 });
      for (const layout of command.layouts) {
        // What a failed shared run left behind must not end up in a package.
        await rm(path.join(dir, layout.root), { recursive: true, force: true });
        if (layout.root === layout.outputId) await mkdir(path.join(dir, layout.root), { recursive: true });
      }
    },
    split: () => ready.map((r) => renditionsUnit([r], source, clip, dir, verifyOptions)),
  };
}

/** The files an output consists of: its one file, or everything under its package directory. */
async function outputFiles(command: FfmpegCommand, dir: string): Promise<string[]> {
  const root = command.outputs.length === 1 ? command.outputs[0]! : path.dirname(command.main);
  return (await Promise.all((root === "." ? command.outputs : [root]).map((f) => listFiles(dir, f)))).flat();
}
