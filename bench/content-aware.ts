// `npm run bench:content-aware`: what the content-aware complexity probe costs (by hand, not in CI).
//
// The probe (encoder/ffmpeg/complexity.ts) on a 5 s 640x360 clip and on the 20 s 1080p
// bench clip, BENCH_RUNS times each (default 3, median), against one run of the 4-rung
// HLS ladder the encoder would make of the same clip, so the probe's share of a job
// is printed beside its absolute cost.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { OutputSpec } from "../encoder/contract";
import { buildComplexityProbeCommand, contentAwareAdjustment } from "../encoder/ffmpeg/complexity";
import { probeFile } from "../encoder/ffmpeg/probe";
import { buildRenditionsCommand } from "../encoder/ffmpeg/renditions";
import { benchClip, clean, median, runBare, sec, table } from "./shared";

const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const ladder: OutputSpec = {
  kind: "output",
  type: "hls",
  video: [
    { codec: "h264", resolution: "1080p" },
    { codec: "h264", resolution: "720p" },
    { codec: "h264", resolution: "480p" },
    { codec: "h264", height: 360 },
  ],
  content_aware: { mode: "per_title" },
};

function smallClip(dir: string): string {
  const file = path.join(dir, "small.mp4");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", file]);
  return file;
}

const rows: string[][] = [];
for (const [name, clip] of [["5 s 640x360", smallClip(mkdtempSync(path.join(os.tmpdir(), "kiln-bench-ca-")))], ["20 s 1080p", benchClip()]] as const) {
  const work = mkdtempSync(path.join(os.tmpdir(), "kiln-bench-ca-"));
  copyFileSync(clip, path.join(work, "input"));
  const { source } = await probeFile("input", work);
  const probe = buildComplexityProbeCommand({ ...source, file: "input" });
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    clean(work, probe);
    times.push(await runBare(probe, work));
    bytes = statSync(path.join(work, probe.main)).size;
  }
  const adjustment = contentAwareAdjustment(bytes, probe);
  const encode = buildRenditionsCommand([{ outputId: "ladder", spec: ladder, contentAware: adjustment }], { ...source, file: "input" });
  clean(work, encode);
  const encodeS = await runBare(encode, work);
  const probeS = median(times);
  rows.push([name, sec(probeS), sec(encodeS), `${((probeS / encodeS) * 100).toFixed(1)} %`, String(adjustment.complexity), String(adjustment.crfOffset), String(adjustment.capScale)]);
}
console.log(`load average: ${os.loadavg().map((n) => n.toFixed(2)).join(" ")}`);
console.log(table([["clip", "probe (median) s", "ladder encode s", "probe share", "complexity", "crf offset", "cap scale"], ...rows]));
