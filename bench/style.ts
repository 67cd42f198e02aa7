// `npm run bench:style`: what the style engine costs (by hand, not in CI).
//
// A 60 s 720p template (portrait 720x1280, warm, cut every 2 s, loud) and a 60 s 720p
// source (1280x720, neutral, six 10 s still scenes, a quiet tone), both with audio, made once
// per machine with lavfi. Timed in one run: extraction (analyzeStyle of the template and
// of the source), application (planStyle, the measuring runs included, then renderStyle:
// the render and the measurement of its output), and a plain transcode of the source
// (libx264 + AAC at the render's CRF and preset). The last line, ratio=<extraction +
// application ÷ plain transcode>, is the number to watch. The load average is printed:
// other work on the machine shows up as noise.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { lossyAudioArgs } from "../encoder/ffmpeg/audio";
import { videoQuality } from "../encoder/ffmpeg/quality";
import { analyzeStyle } from "../encoder/style/analysis";
import { planStyle, renderStyle } from "../encoder/style/render";
import { runBare, sec, table } from "./shared";

const SECONDS = 60;
const dir = path.join(os.tmpdir(), "kiln-bench");

function clip(name: string, graph: string, audio: string): string {
  const file = path.join(dir, `${name}.mp4`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  console.log(`generating ${name} (once)…`);
  const tmp = `${file}.part.${process.pid}.mp4`;
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-filter_complex", graph, "-t", String(SECONDS), "-f", "lavfi", "-i", audio,
    "-map", "[v]", "-map", "0:a",
    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p", "-g", "60",
    "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", tmp,
  ], { stdio: "inherit" });
  renameSync(tmp, file);
  return file;
}

/** `count` scenes of `seconds` each, cycling through `patterns` (distinct lavfi sources), muted to ordinary saturation, then `look`. */
function scenes(patterns: string[], size: string, fps: number, count: number, seconds: number, look: string): string {
  const sources = Array.from({ length: count }, (_, i) => `${patterns[i % patterns.length]}=s=${size}:r=${fps}:d=${seconds}[s${i}]`);
  return `${sources.join(";")};${Array.from({ length: count }, (_, i) => `[s${i}]`).join("")}concat=n=${count}:v=1:a=0,hue=s=0.25${look}[v]`;
}

const template = clip(
  "style-template-720x1280-60s-v1",
  scenes(["testsrc2", "smptebars", "yuvtestsrc", "testsrc", "rgbtestsrc"], "720x1280", 30, SECONDS / 2, 2, ",eq=saturation=1.6,colortemperature=temperature=3500"),
  "aevalsrc='0.45*sin(2*PI*110*t)+0.3*sin(2*PI*220*t)+0.2*sin(2*PI*440*t)':s=48000,acompressor=threshold=0.1:ratio=20:attack=1:release=50:makeup=4,alimiter=limit=0.9",
);
// Still patterns: testsrc2's moving counters, cropped to a portrait strip, read as changes of scene to the analysis.
const source = clip("style-source-1280x720-60s-v2", scenes(["smptebars", "yuvtestsrc", "rgbtestsrc", "smptehdbars", "pal75bars", "pal100bars"], "1280x720", 25, 6, 10, ""), "aevalsrc='0.05*sin(2*PI*220*t)+0.03*sin(2*PI*660*t)':s=48000");

const tools = { ffmpeg: "ffmpeg", ffprobe: "ffprobe", signal: new AbortController().signal };
const work = mkdtempSync(path.join(os.tmpdir(), "kiln-bench-style-"));
copyFileSync(source, path.join(work, "source.mp4"));

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, (performance.now() - start) / 1000];
}

try {
  console.log(`60 s template 720x1280 and source 1280x720, with audio; ${os.cpus().length} CPUs; load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const created = new Date().toISOString();
  const [templateAnalysis, templateS] = await timed(() => analyzeStyle(template, tools, created));
  const [sourceAnalysis, sourceS] = await timed(() => analyzeStyle(path.join(work, "source.mp4"), tools, created));
  const request = {
    source: { file: "source.mp4", analysis: sourceAnalysis },
    target: { style: templateAnalysis.style, analysis: templateAnalysis },
    fromTemplate: true,
    config: {},
    outFile: "output.mp4",
    workDir: work,
    tools,
  };
  const [plan, planS] = await timed(() => planStyle(request, () => {}));
  const [renderOnlyS] = [await runBare(plan.command, work)];
  rmSync(path.join(work, "output.mp4"), { force: true });
  const [result, renderS] = await timed(() => renderStyle(request, plan, () => {}));

  const { crf, speed } = videoQuality.h264.medium;
  const plain = {
    args: ["-i", "source.mp4", "-map", "0:v:0", "-map", "0:a:0", "-c:v", "libx264", "-preset", speed, "-crf", String(crf), "-pix_fmt", "yuv420p", ...lossyAudioArgs("aac", "medium"), "-movflags", "+faststart", "-f", "mp4", "plain.mp4"],
    outputs: ["plain.mp4"],
    main: "plain.mp4",
    durationS: SECONDS,
  };
  const plainS = await runBare(plain, work);

  const extraction = templateS + sourceS;
  const application = planS + renderS;
  console.log();
  console.log(
    table([
      ["step", "seconds"],
      ["extraction: template", sec(templateS)],
      ["extraction: source", sec(sourceS)],
      ["application: planStyle (measuring runs)", sec(planS)],
      ["application: renderStyle (render + output measured)", sec(renderS)],
      ["  of which the render alone (measured separately)", sec(renderOnlyS)],
      ["extraction + application", sec(extraction + application)],
      [`plain transcode (libx264 ${speed} crf ${crf} + aac)`, sec(plainS)],
    ]),
  );
  const gaps = result.comparison.map((c) => `${c.dimension} ${c.closed_fraction}`).join(", ");
  console.log(`\noutput ${result.output.video.width}x${result.output.video.height} ${result.output.video.fps} fps ${result.output.video.durationS} s${result.shortened ? ` (shortened: ${result.shortened.wanted_seconds} s wanted)` : ""}; closed: ${gaps}`);
  console.log(`\nextraction=${sec(extraction)} application=${sec(application)} plain=${sec(plainS)} ratio=${((extraction + application) / plainS).toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
