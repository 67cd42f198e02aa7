import { createReadStream } from "node:fs";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { OutputFacts } from "../contract";
import { PipelineError } from "../errors";
import type { FfmpegCommand } from "../ffmpeg/command";
import { ProbeError, runProbe } from "../ffmpeg/ffprobe-run";
import { type ProbeResult, ffprobeArgv, probeFile } from "../ffmpeg/probe";
import type { WarmProbes } from "../ffmpeg/warm-probes";
import { localKeyPath, localKeyPlaylist } from "../ffmpeg/drm";
import type { OutputLayout } from "../ffmpeg/renditions";
import { imageFacts } from "../media/image-facts";
import { fileIndexComesFirst } from "../media/mp4-layout";

export type VerifiedFacts = Pick<OutputFacts, "duration_ms" | "width" | "height" | "codec">;

export interface VerifyOptions {
  ffprobe?: string;
  signal: AbortSignal;
  warmProbes?: WarmProbes;
}

/** What a kind task's output really is, from ffprobe (or sharp, for images ffmpeg cannot read) of the file written. */
export async function verifyOutput(command: FfmpegCommand, dir: string, options: VerifyOptions): Promise<VerifiedFacts> {
  // A sprite sheet's facts are the sheet's, though its main file is the storyboard.
  const file = command.factsFrom ?? command.main;
  if (/\.(webp|avif|gif)$/i.test(file)) return imageFacts(file, dir);
  const probed = (await probeWarm(file, dir, options)) ?? (await probeFile(file, dir, { ffprobe: options.ffprobe, signal: options.signal, integrityChecks: false, ownOutput: true }));
  return factsOf(probed);
}

/** An output's media facts from ffprobe's description of it. */
export function factsOf(probed: ProbeResult): VerifiedFacts {
  return {
    duration_ms: probed.isStillImage ? null : probed.metadata.duration_ms,
    width: probed.source.width,
    height: probed.source.height,
    codec: probed.metadata.codec ?? probed.metadata.audio_codec,
  };
}

/**
 * An MP4 or MOV with its index first (every one Kiln writes is faststart) goes to a warm
 * ffprobe when one is ready. Null otherwise, or when that read fails: then a cold
 * ffprobe of the file decides.
 */
async function probeWarm(file: string, dir: string, options: VerifyOptions): Promise<ProbeResult | null> {
  if (!options.warmProbes?.ready || !/\.(mp4|mov)$/i.test(file)) return null;
  const where = path.join(dir, file);
  // A file that cannot be read is the cold probe's to report.
  if (!(await fileIndexComesFirst(where).catch(() => false))) return null;
  const probe = options.warmProbes.take();
  if (!probe) return null;
  const bytes = (stop: AbortSignal) => createReadStream(where, { signal: stop });
  return probeFile(file, dir, { signal: options.signal, integrityChecks: false, ownOutput: true, piped: { bytes, warm: probe } }).catch(() => null);
}

interface ProbedStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
}

/**
 * The segment and sidecar files the hls and dash demuxers may open: their default list
 * plus WebVTT, which the packages' subtitle tracks use.
 */
const PACKAGE_EXTENSIONS = "3gp,aac,avi,ac3,eac3,flac,mkv,m3u8,m4a,m4s,m4v,mpg,mov,mp2,mp3,mp4,mpeg,mpegts,ogg,ogv,oga,ts,vob,wav,vtt";

async function listStreams(file: string, dir: string, options: VerifyOptions, decrypt = false): Promise<{ streams: ProbedStream[]; durationS: number | null }> {
  const argv = ffprobeArgv(file);
  // The hls demuxer reads AES-128 segments through the crypto protocol, and the key file by its extension.
  argv.splice(argv.indexOf("-print_format"), 0, "-allowed_extensions", decrypt ? `${PACKAGE_EXTENSIONS},key` : PACKAGE_EXTENSIONS);
  if (decrypt) argv[argv.indexOf("-protocol_whitelist") + 1] = "file,crypto";
  const run = await runProbe(argv, dir, options).catch((err: unknown) => {
    // A timeout reads as an unreadable input there; here it is our own output that failed.
    throw err instanceof ProbeError ? new PipelineError("encode_failed", `ffprobe cannot read ${file}: ${err.message}`) : err;
  });
  if (run.code !== 0 || run.overflow) throw new PipelineError("encode_failed", `ffprobe cannot read ${file}: ${run.stderr.trim().split("\n").pop() ?? ""}`);
  try {
    const parsed = JSON.parse(run.stdout) as { streams?: ProbedStream[]; format?: { duration?: string } };
    const duration = Number(parsed.format?.duration);
    return { streams: parsed.streams ?? [], durationS: Number.isFinite(duration) ? duration : null };
  } catch {
    throw new PipelineError("encode_failed", `ffprobe gave no readable description of ${file}`);
  }
}

/**
 * Reads a Transcodely output back the way a player would (the file, the master
 * playlist, the MPD; both manifests of an adaptive package) and checks that every
 * planned variant is there at its planned size, and the audio when some was planned.
 * The facts describe the largest variant.
 */
export async function verifyRenditions(layout: OutputLayout, dir: string, options: VerifyOptions): Promise<VerifiedFacts> {
  const aes128 = layout.drm === "aes-128";
  const entries = aes128 ? [await localHlsCopy(layout, dir)] : [layout.main, ...(layout.manifest ? [layout.manifest] : [])];
  let facts: VerifiedFacts | null = null;
  for (const entry of entries) {
    const { streams, durationS } = await listStreams(entry, dir, options, aes128);
    const video = streams.filter((s) => s.codec_type === "video" && s.width && s.height);
    for (const v of layout.variants) {
      if (!video.some((s) => s.width === v.plan.width && s.height === v.plan.height)) {
        throw new PipelineError("encode_failed", `${entry} lacks the ${v.name} variant (${v.plan.width}x${v.plan.height})`);
      }
    }
    if (layout.audio.length > 0 && !streams.some((s) => s.codec_type === "audio")) throw new PipelineError("encode_failed", `${entry} has no audio`);
    const largest = video.reduce((a, b) => (b.width! * b.height! > a.width! * a.height! ? b : a));
    facts ??= { duration_ms: durationS === null ? null : Math.round(durationS * 1000), width: largest.width!, height: largest.height!, codec: largest.codec_name ?? null };
  }
  return facts!;
}

/**
 * An AES-128 package names Kiln's key route, which the encoder must not call: it is
 * verified through a copy of its playlists, beside the package (never exported), that
 * names the local key file and the package's segments. Decrypting proves the segments
 * and the key belong together.
 */
async function localHlsCopy(layout: OutputLayout, dir: string): Promise<string> {
  const copy = `${layout.outputId}.verify`;
  const root = path.join(dir, layout.root);
  await rm(path.join(dir, copy), { recursive: true, force: true });
  await cp(path.join(dir, layout.main), path.join(dir, copy, path.basename(layout.main)), { recursive: false });
  for (const name of [...layout.variants.map((v) => v.name), ...layout.audio.map((a) => a.name)]) {
    const playlist = await readFile(path.join(root, name, "index.m3u8"), "utf8");
    await mkdir(path.join(dir, copy, name), { recursive: true });
    await writeFile(path.join(dir, copy, name, "index.m3u8"), localKeyPlaylist(playlist, localKeyPath(path.resolve(dir), layout.outputId), path.resolve(root, name)));
  }
  return path.join(copy, path.basename(layout.main));
}
