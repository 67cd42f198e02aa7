// `npm run bench:ladder`: what one decode saves for a Transcodely ladder (by hand, not in CI).
//
// A 4-rung HLS output (1080p, 720p, 480p, 360p; h264, standard tier) of the 20 s 1080p
// clip, built by the encoder's own builder (buildRenditionsCommand): all rungs from one
// ffmpeg run, the input decoded once and split ÷ the same rungs as four separate ffmpeg
// runs (each the builder's command for a one-rung output, so the codec settings are the
// same), each decoding the input again. Audio rides with the first separate run, so the
// total encoding work is equal and only the decodes multiply. Goal ≤ 0.70.
//
// Both sides run BENCH_RUNS times (default 3), alternating which goes first, and the
// medians are compared. The last line, ratio=<one decode ÷ separate runs>, is the number
// to watch. Other work on the machine shows up as noise; the load average is printed.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { OutputSpec } from "../encoder/contract";
import { probeFile } from "../encoder/ffmpeg/probe";
import { type RenditionsCommand, buildRenditionsCommand } from "../encoder/ffmpeg/renditions";
import { benchClip, clean, median, runBare, sec, table } from "./shared";

const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const GOAL = 0.7;

const rungs: OutputSpec["video"] = [
  { codec: "h264", resolution: "1080p", quality: "standard" },
  { codec: "h264", resolution: "720p", quality: "standard" },
  { codec: "h264", resolution: "480p", quality: "standard" },
  { codec: "h264", height: 360, quality: "standard" },
];
const ladder = (video: OutputSpec["video"]): OutputSpec => ({ kind: "output", type: "hls", video, segments: { duration: 4 } });

const work = mkdtempSync(path.join(os.tmpdir(), "kiln-bench-ladder-"));
copyFileSync(benchClip(), path.join(work, "input"));
let exitCode = 0;

async function timed(command: RenditionsCommand): Promise<number> {
  clean(work, command);
  for (const layout of command.layouts) rmSync(path.join(work, layout.root), { recursive: true, force: true });
  const seconds = await runBare(command, work);
  for (const layout of command.layouts) if (!existsSync(path.join(work, layout.main))) throw new Error(`${layout.main} was not written`);
  return seconds;
}

try {
  const probed = await probeFile("input", work);
  const source = { ...probed.source, file: "input" };
  const oneDecode = buildRenditionsCommand([{ outputId: "ladder", spec: ladder(rungs) }], source);
  const separate = rungs.map((rung, i) => buildRenditionsCommand([{ outputId: `rung_${i}`, spec: ladder([rung]) }], { ...source, hasAudio: source.hasAudio && i === 0 }));
  const planned = oneDecode.layouts[0]!.variants;
  if (planned.length !== rungs.length) throw new Error(`the clip gives ${planned.length} rungs, not ${rungs.length}`);

  console.log(`clip: ${source.width}x${source.height} ${source.fps} fps ${sec(source.durationS)} s, audio ${source.hasAudio}; ${runs} run(s) each, ${os.cpus().length} CPUs`);
  console.log(`ladder: ${planned.map((v) => `${v.name} ${v.plan.width}x${v.plan.height} ≤${((v.maxrate ?? 0) / 1e6).toFixed(2)} Mb/s`).join(", ")}`);
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log();

  // What one extra decode of the input costs: the most a shared decode can save per rung.
  const decodeOnly = { args: ["-i", "input", "-map", "0:v:0", "-f", "null", "-"], outputs: [], main: "-", durationS: source.durationS };
  const decode: number[] = [];
  const one: number[] = [];
  const split: number[][] = [];
  const separately = async () => {
    const times: number[] = [];
    for (const command of separate) times.push(await timed(command));
    return times;
  };
  for (let i = 0; i < runs; i++) {
    decode.push(await runBare(decodeOnly, work));
    if (i % 2 === 0) {
      one.push(await timed(oneDecode));
      split.push(await separately());
    } else {
      split.push(await separately());
      one.push(await timed(oneDecode));
    }
    const sum = split[i]!.reduce((s, x) => s + x, 0);
    console.log(`run ${i + 1}/${runs}: one decode ${sec(one[i]!)} s, ${rungs.length} separate runs ${sec(sum)} s (${split[i]!.map(sec).join(" + ")})`);
  }

  const oneMedian = median(one);
  const splitMedian = median(split.map((t) => t.reduce((s, x) => s + x, 0)));
  const ratio = oneMedian / splitMedian;
  const paired = median(one.map((o, i) => o / split[i]!.reduce((s, x) => s + x, 0)));
  console.log();
  console.log(
    table([
      ["scenario", "median s", "runs (s)"],
      [`one ffmpeg, one decode, ${rungs.length} rungs`, sec(oneMedian), one.map(sec).join(" ")],
      [`${rungs.length} separate ffmpeg runs (sum)`, sec(splitMedian), split.map((t) => sec(t.reduce((s, x) => s + x, 0))).join(" ")],
      ...planned.map((v, i) => [`  separate: ${v.name}${i === 0 && source.hasAudio ? " + audio" : ""}`, sec(median(split.map((t) => t[i]!))), split.map((t) => sec(t[i]!)).join(" ")]),
    ]),
  );
  console.log();
  console.log(`one decode ÷ separate runs: ${ratio.toFixed(2)} (goal ≤ ${GOAL.toFixed(2)}: ${ratio <= GOAL ? "ok" : "MISSED"}; median of pairs ${paired.toFixed(2)})`);
  const floor = (splitMedian - (rungs.length - 1) * median(decode)) / splitMedian;
  console.log(`decode only: ${sec(median(decode))} s; saving just the ${rungs.length - 1} extra decodes would give ${floor.toFixed(2)}`);
  console.log(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`ratio=${ratio.toFixed(2)}`);
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
