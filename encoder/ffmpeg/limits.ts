import { readFileSync } from "node:fs";
import os from "node:os";

/**
 * What one input may declare and one ffmpeg or ffprobe run may cost. A tiny file can
 * declare a picture, a frame count or a stream count that would take gigabytes or
 * hours to decode (a decompression bomb); the probe refuses those from the header, and
 * every run is bounded whatever the header said, as a lying header can get past it.
 */

/** The largest picture an input may have: 64 Mpx, 8192×8192 (8K video, a 50 Mpx photo). */
export const MAX_PICTURE_PIXELS = 8192 * 8192;

/** The smallest side: 4:2:0 outputs need 2×2, and a 1-pixel side would be invented. */
export const MIN_PICTURE_SIDE = 2;

/**
 * The most streams an input may have. ffprobe decodes and ffmpeg demuxes every one,
 * while a job uses one video and at most 8 audio tracks; 64 leaves room for
 * multi-language masters.
 */
export const MAX_INPUT_STREAMS = 64;

/**
 * The frame rate a job's frame budget is reckoned at: an input may have at most the
 * order's longest duration at this rate (6 h at 120 fps by default), so a few bytes
 * declaring hours at 1000 fps are refused before anything counts them out.
 */
export const FRAME_BUDGET_FPS = 120;

/**
 * The largest single allocation ffmpeg and ffprobe may make (`-max_alloc`): one frame
 * of MAX_PICTURE_PIXELS at 8 bytes a pixel (RGBA64). A header that lies about its size
 * gets past the probe's check only to have the decoder's allocation refused.
 */
export const MAX_ALLOC_BYTES = MAX_PICTURE_PIXELS * 8;

/** The `-max_alloc` option, for every ffmpeg and ffprobe argv. */
export const maxAllocArgs = (): string[] => ["-max_alloc", String(MAX_ALLOC_BYTES)];

/**
 * The resident memory one ffmpeg run may reach before it is killed (resource_limit):
 * half the machine, at most 8 GiB. Watched from /proc rather than set with prlimit:
 * Linux does not enforce RLIMIT_RSS, and RLIMIT_AS counts reserved address space
 * (thread stacks, malloc arenas), which grows with the core count, not with the work.
 */
export const MAX_RUN_RSS_BYTES = Math.min(8 * 1024 ** 3, Math.floor(os.totalmem() / 2));

/** How often a run's memory is sampled. */
export const RSS_SAMPLE_MS = 200;

/**
 * The wall-clock time one ffmpeg run may take: 5 min plus 300× the media it makes
 * (the slowest AV1 preset at 4K on 2 cores runs near 150× real time).
 */
export function runBudgetMs(durationS: number): number {
  return 5 * 60_000 + Math.max(0, Number.isFinite(durationS) ? durationS : 0) * 300_000;
}

/** A process's resident memory now, from /proc; 0 once it is gone. */
export function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
