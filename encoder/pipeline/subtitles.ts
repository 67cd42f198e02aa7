import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { SubtitleSpec, WorkOrder } from "../contract";
import { PipelineError } from "../errors";
import { type SubtitleRendition, MPEGTS_START_TICKS, withTimestampMap } from "../ffmpeg/playlists";
import { runFfmpeg } from "../ffmpeg/runner";
import type { TimeWindow } from "../ffmpeg/framing";
import { buildSubtitleCommand, clipCues } from "../ffmpeg/subtitles";
import type { NetworkAccess } from "../net/guarded-fetch";
import { importInput } from "./import";

/** Subtitle files are text: anything larger is not one. */
const MAX_SUBTITLE_BYTES = 20 * 1024 * 1024;

export interface SubtitleContext {
  dir: string;
  limits: WorkOrder["limits"];
  network: NetworkAccess;
  signal: AbortSignal;
  ffmpeg?: string;
  /** The order's clip: the cues are cut to it and timed from its start, as the media is. */
  clip?: TimeWindow;
}

/**
 * Fetches an output's subtitle tracks (with the input's SSRF-guarded import) and turns
 * each into WebVTT in `staging` (a directory of the working dir that becomes the
 * package's `subtitles/` once it is made), cut to the order's clip. Runs before the encode, so a track that
 * cannot be fetched or read fails its own output only, never the shared run.
 */
export async function prepareSubtitles(
  outputId: string,
  staging: string,
  tracks: SubtitleSpec[],
  mpegts: boolean,
  ctx: SubtitleContext,
): Promise<SubtitleRendition[]> {
  const made: SubtitleRendition[] = [];
  for (const [i, track] of tracks.entries()) {
    const what = `subtitle track ${i + 1} (${track.language})`;
    const source = `subtitle_${outputId}_${i}`;
    const base = `${track.language}_${i}`;
    const vtt = `${base}.vtt`;
    try {
      await importInput(track.url, path.join(ctx.dir, source), {
        maxBytes: MAX_SUBTITLE_BYTES,
        connectTimeoutMs: ctx.limits.connect_timeout_ms,
        readTimeoutMs: ctx.limits.read_timeout_ms,
        ...ctx.network,
        signal: ctx.signal,
      });
      await mkdir(path.join(ctx.dir, staging), { recursive: true });
      await runFfmpeg(buildSubtitleCommand(source, track.format, `${staging}/${vtt}`), { cwd: ctx.dir, signal: ctx.signal, ffmpeg: ctx.ffmpeg }).catch((err: Error) => {
        if (ctx.signal.aborted) throw err;
        throw new PipelineError("input_unreadable", `is not a WebVTT or SRT file ffmpeg can read (${err.message.split("\n").pop()})`);
      });
      const file = path.join(ctx.dir, staging, vtt);
      // ffmpeg reads anything as SRT when told to; what it made of the file is the check.
      const converted = await readFile(file, "utf8");
      if (!converted.includes("-->")) throw new PipelineError("input_unreadable", "holds no subtitle cues");
      const cues = ctx.clip ? clipCues(converted, ctx.clip) : converted;
      if (mpegts || cues !== converted) await writeFile(file, mpegts ? withTimestampMap(cues, MPEGTS_START_TICKS) : cues);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const code = err instanceof PipelineError ? err.code : "input_unreachable";
      throw new PipelineError(code, `${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
    made.push({ vtt: `subtitles/${vtt}`, playlist: `subtitles/${base}.m3u8`, language: track.language, label: track.label ?? track.language, default: track.default ?? false });
  }
  return made;
}
