import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, OutputSpec } from "../../encoder/contract";
import { addDashTextSets, addSubtitleGroup, finishCmafMediaPlaylist, nameAudioRenditions } from "../../encoder/ffmpeg/playlists";
import { buildRenditionsCommand, planVariants } from "../../encoder/ffmpeg/renditions";
import { clipCues } from "../../encoder/ffmpeg/subtitles";
import { clipPath } from "./clips";
import { sourceOf } from "./encode-clip";
import { ffprobe } from "./ffprobe";
import { startEncoder, startMediaServer, startSink } from "./harness";
import { ffprobePackage, hlsMediaFiles, parseM3u8, parseMpd } from "./packages";

const out = (type: OutputSpec["type"], video: OutputSpec["video"], extra: Partial<OutputSpec> = {}): OutputSpec => ({ kind: "output", type, video, ...extra });
const landscape = sourceOf("landscape");

describe("renditions builder (pure)", () => {
  it("makes every output of a job from one input, decoded once and split once per variant", () => {
    const cmd = buildRenditionsCommand(
      [
        { outputId: "out_hls", spec: out("hls", [{ codec: "h264", height: 360 }, { codec: "h264", height: 240 }, { codec: "h264", height: 144 }]) },
        { outputId: "out_mp4", spec: out("mp4", [{ codec: "h264", resolution: "720p" }]) },
      ],
      landscape,
    );
    expect(cmd.args.filter((a) => a === "-i")).toHaveLength(1);
    const graph = cmd.args[cmd.args.indexOf("-filter_complex") + 1]!;
    expect(graph.match(/split=/g)).toHaveLength(1);
    expect(graph).toMatch(/^\[0:v:0\]split=4\[s0\]\[s1\]\[s2\]\[s3\];/);
    expect(cmd.layouts.map((l) => [l.outputId, l.main])).toEqual([
      ["out_hls", "out_hls/master.m3u8"],
      ["out_mp4", "out_mp4.mp4"],
    ]);
    expect(cmd.args.filter((a) => a === "-f")).toHaveLength(2);
  });

  it("never upscales a named resolution, obeys explicit sizes, and encodes variants that end up alike once", () => {
    const sizes = (spec: OutputSpec) => planVariants(spec, landscape).map((v) => `${v.name} ${v.plan.width}x${v.plan.height}`);
    expect(sizes(out("hls", [{ codec: "h264", resolution: "1080p" }, { codec: "h264", resolution: "720p" }, { codec: "h264", resolution: "480p" }]))).toEqual(["h264_360p 640x360"]);
    expect(sizes(out("mp4", [{ codec: "h264", width: 1280, height: 720 }]))).toEqual(["h264_720p 1280x720"]);
    expect(sizes(out("mp4", [{ codec: "h264", width: 256 }]))).toEqual(["h264_144p 256x144"]);
    expect(sizes(out("hls", [{ codec: "h264", height: 240, bitrate: 400 }, { codec: "h264", height: 240, bitrate: 200 }]))).toEqual(["h264_240p 426x240", "h264_240p_2 426x240"]);
    // A portrait source is named by its short side too.
    expect(planVariants(out("hls", [{ codec: "h264", resolution: "480p" }]), sourceOf("portrait")).map((v) => [v.plan.width, v.plan.height])).toEqual([[360, 640]]);
  });

  it("maps tiers and codec options to encoder arguments; a higher frame rate than the source's is not invented", () => {
    const argsOf = (spec: OutputSpec) => buildRenditionsCommand([{ outputId: "o", spec }], landscape).args.join(" ");
    expect(argsOf(out("mp4", [{ codec: "h264", quality: "economy" }]))).toContain("-c:v:0 libx264 -preset:v:0 faster -crf:v:0 28");
    expect(argsOf(out("mp4", [{ codec: "h264", quality: "premium" }]))).toContain("-preset:v:0 medium -crf:v:0 20");
    expect(argsOf(out("mp4", [{ codec: "h264", h264: { profile: "main", preset: "slow", crf: 18, tune: "film" } }]))).toContain(
      "-preset:v:0 slow -crf:v:0 18 -profile:v:0 main -tune:v:0 film",
    );
    expect(argsOf(out("mkv", [{ codec: "vp9", vp9: { crf: 40, speed: 6 } }]))).toContain("-cpu-used:v:0 6 -row-mt:v:0 1 -crf:v:0 40 -b:v:0 0");
    expect(argsOf(out("mp4", [{ codec: "av1", av1: { preset: 10, crf: 45 } }]))).toContain("-c:v:0 libsvtav1 -preset:v:0 10 -crf:v:0 45");
    expect(argsOf(out("mp4", [{ codec: "h265", h265: { profile: "main10" } }]))).toMatch(/format=yuv420p10le.*-profile:v:0 main10.*-tag:v:0 hvc1/);
    expect(argsOf(out("mp4", [{ codec: "h264", bitrate: 900 }]))).toContain("-b:v:0 900000 -maxrate:v:0 900000 -bufsize:v:0 1800000");
    // Streaming rungs in constant quality get a peak, so the master playlist can announce a bandwidth.
    expect(argsOf(out("hls", [{ codec: "h264" }]))).toMatch(/-crf:v:0 23 -maxrate:v:0 \d+ -bufsize:v:0 \d+/);
    expect(argsOf(out("mp4", [{ codec: "h264", framerate: 15 }]))).toContain("fps=15");
    expect(argsOf(out("mp4", [{ codec: "h264", framerate: 60 }]))).not.toContain("fps=");
    expect(argsOf(out("mp4", [{ codec: "h264", framerate: 0 }]))).not.toContain("fps=");
  });

  it("with a clip, seeks the one input to it and makes every output, and its segments, cover the clip alone", () => {
    const clip = { start: 1, durationS: 1.5, cut: true };
    const cmd = buildRenditionsCommand(
      [
        { outputId: "out_hls", spec: out("hls", [{ codec: "h264", height: 240 }]) },
        { outputId: "out_mp4", spec: out("mp4", [{ codec: "h264" }]) },
      ],
      landscape,
      clip,
    );
    // Seeked and bounded before the one -i, so the single decode reads the clip only.
    expect(cmd.args.slice(0, 6)).toEqual(["-ss", "1", "-t", "1.5", "-i", "input"]);
    expect(cmd.args.filter((a) => a === "-i")).toHaveLength(1);
    // Progress and the "fell short" check measure against the clip's length.
    expect(cmd.durationS).toBe(1.5);
    // A short clip gets the short segments a short input would.
    expect(cmd.layouts[0]!.segmentS).toBe(2);
    // A clip running to the input's end needs no -t; one from 0 no -ss.
    expect(buildRenditionsCommand([{ outputId: "o", spec: out("mp4", [{ codec: "h264" }]) }], landscape, { start: 2, durationS: 1, cut: false }).args.slice(0, 4)).toEqual(["-ss", "2", "-i", "input"]);
    expect(buildRenditionsCommand([{ outputId: "o", spec: out("mp4", [{ codec: "h264" }]) }], landscape).args.slice(0, 2)).toEqual(["-i", "input"]);
  });

  it("refuses what the containers cannot hold", () => {
    expect(() => buildRenditionsCommand([{ outputId: "o", spec: out("mov", [{ codec: "vp9" }]) }], landscape)).toThrow(/cannot be packaged as mov/);
    expect(() => buildRenditionsCommand([{ outputId: "../o", spec: out("mp4", [{ codec: "h264" }]) }], landscape)).toThrow(/not a usable output name/);
  });
});

describe("manifest edits (pure)", () => {
  const master = [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_audio",NAME="audio_1",DEFAULT=YES,URI="audio_0/index.m3u8"',
    '#EXT-X-STREAM-INF:BANDWIDTH=100,RESOLUTION=640x360,AUDIO="group_audio"',
    "v/index.m3u8",
    "",
  ].join("\n");
  const track = { vtt: "subtitles/en_0.vtt", playlist: "subtitles/en_0.m3u8", language: "en", label: 'Eng"lish', default: true };

  it("labels audio and adds a subtitle group every variant refers to", () => {
    const parsed = parseM3u8(addSubtitleGroup(nameAudioRenditions(master, ["English"]), [track]));
    expect(Object.keys(parsed.mediaGroups!.AUDIO!.group_audio!)).toEqual(["English"]);
    expect(parsed.mediaGroups!.SUBTITLES!.subs!.English).toMatchObject({ uri: "subtitles/en_0.m3u8", language: "en", default: true });
    expect(parsed.playlists![0]!.attributes.SUBTITLES).toBe("subs");
  });

  it("turns the dash muxer's live-style HLS playlists into VOD ones", () => {
    const media = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-TARGETDURATION:2", "#EXTINF:2.0,", "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000+0000", "seg_1.m4s", "#EXT-X-ENDLIST"].join("\n");
    const done = finishCmafMediaPlaylist(media, "vod");
    expect(done).not.toContain("PROGRAM-DATE-TIME");
    expect(parseM3u8(done)).toMatchObject({ playlistType: "VOD", endList: true, segments: [{ uri: "seg_1.m4s" }] });
  });

  it("cuts WebVTT to a clip: cues outside dropped, those across its edges shortened, times from its start", () => {
    const vtt = "WEBVTT\n\n00:00.000 --> 00:00.500\nBefore\n\n00:00.500 --> 00:01.500 align:start\nAcross\n\n00:02.000 --> 00:02.500\nInside\n\n00:02.800 --> 01:00:03.500\nLate\n\n00:03.500 --> 00:04.000\nAfter\n";
    expect(clipCues(vtt, { start: 1, durationS: 2, cut: true })).toBe(
      "WEBVTT\n\n00:00:00.000 --> 00:00:00.500 align:start\nAcross\n\n00:00:01.000 --> 00:00:01.500\nInside\n\n00:00:01.800 --> 00:00:02.000\nLate\n",
    );
    // A clip without cues leaves a valid, empty WebVTT file.
    expect(clipCues(vtt, { start: 3700, durationS: 1, cut: true })).toBe("WEBVTT\n");
  });

  it("adds text adaptation sets to an MPD", () => {
    const mpd = '<MPD type="static">\n\t<Period id="0">\n\t\t<AdaptationSet id="0" contentType="video">\n\t\t\t<Representation id="0" width="2" height="2" />\n\t\t</AdaptationSet>\n\t</Period>\n</MPD>\n';
    const parsed = parseMpd(addDashTextSets(mpd, [track]));
    expect(parsed.representations.map((r) => [r.id, r.contentType, r.mimeType, r.lang, r.files])).toEqual([
      ["0", "video", null, null, []],
      ["text_0", "text", "text/vtt", "en", ["subtitles/en_0.vtt"]],
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// The whole pipeline, through the encoder service.

let media: Awaited<ReturnType<typeof startMediaServer>>;
let sink: Awaited<ReturnType<typeof startSink>>;
let encoder: Awaited<ReturnType<typeof startEncoder>>;
const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-renditions-work-"));
process.env.KILN_WORK_DIR = workDir;

beforeAll(async () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-renditions-media-"));
  writeFileSync(path.join(scratch, "en.vtt"), "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello\n\n00:00:01.500 --> 00:00:03.000\nWorld\n");
  writeFileSync(path.join(scratch, "fr.srt"), "1\n00:00:00,000 --> 00:00:02,000\nBonjour\n\n2\n00:00:02,000 --> 00:00:03,000\nle monde\n");
  writeFileSync(path.join(scratch, "junk.srt"), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
  media = await startMediaServer({
    "landscape.mp4": clipPath("landscape"),
    "en.vtt": path.join(scratch, "en.vtt"),
    "fr.srt": path.join(scratch, "fr.srt"),
    "junk.srt": path.join(scratch, "junk.srt"),
  });
  sink = await startSink();
  encoder = await startEncoder({ concurrency: 2, heartbeatMs: 1000 });
});
afterAll(async () => {
  await encoder.close();
  await sink.close();
  await media.close();
});

type Completed = Extract<EncoderEvent, { type: "task_completed" }>;
type Failed = Extract<EncoderEvent, { type: "task_failed" }>;

async function runOrder(jobId: string, tasks: { task_id: string; output_id: string; spec: OutputSpec }[]) {
  const res = await encoder.call("POST", "/work", sink.order(jobId, media.url("landscape.mp4"), tasks));
  expect(res.status).toBe(202);
  await sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)), 240_000);
  const events = sink.events.filter((e) => e.job_id === jobId);
  expect(events.at(-1)!.type).toBe("job_completed");
  const completed = new Map(events.filter((e): e is Completed => e.type === "task_completed" && e.stage === "encode").map((e) => [e.task_id!, e.output!]));
  const failed = new Map(events.filter((e): e is Failed => e.type === "task_failed" && e.task_id !== null).map((e) => [e.task_id!, e.error]));
  return { events, completed, failed };
}

/** The uploaded files of a package, written back to disk for ffprobe, by path. */
function materialise(paths: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "kiln-renditions-out-"));
  for (const p of paths) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), sink.uploads.get(p)!.bytes);
  }
  return root;
}
const text = (p: string) => sink.uploads.get(p)!.bytes.toString("utf8");

describe("outputs × variants through the encoder", () => {
  it("one job: a 3-rung HLS ladder with subtitles, a DASH package, an adaptive package sharing its segments, an mkv", async () => {
    const { completed, failed, events } = await runOrder("job_renditions", [
      {
        task_id: "t_hls",
        output_id: "out_hls",
        spec: out("hls", [{ codec: "h264", height: 360 }, { codec: "h264", height: 240 }, { codec: "h264", height: 144, quality: "economy" }], {
          audio: [{ codec: "aac", bitrate: 96, language: "en", label: "English" }],
          segments: { duration: 1 },
          subtitles: [{ url: media.url("en.vtt"), language: "en", label: "English", default: true }],
        }),
      },
      { task_id: "t_dash", output_id: "out_dash", spec: out("dash", [{ codec: "h264", height: 360 }, { codec: "h264", height: 180 }]) },
      {
        task_id: "t_adaptive",
        output_id: "out_adaptive",
        spec: out("adaptive", [{ codec: "h264", resolution: "480p" }, { codec: "h264", height: 240 }], {
          subtitles: [{ url: media.url("fr.srt"), format: "srt", language: "fr" }],
        }),
      },
      { task_id: "t_mkv", output_id: "out_mkv", spec: out("mkv", [{ codec: "h264", resolution: "720p", h264: { profile: "main" } }]) },
    ]);
    expect([...failed]).toEqual([]);
    expect([...completed.keys()].sort()).toEqual(["t_adaptive", "t_dash", "t_hls", "t_mkv"]);
    // One shared run: its progress is the stage's, not one task's.
    expect(events.some((e) => e.type === "progress" && e.stage === "encode" && e.task_id === null)).toBe(true);

    // HLS: three rungs at their sizes, complete VOD playlists, audio and subtitle groups.
    const hls = completed.get("t_hls")!;
    expect(hls).toMatchObject({ main: "out_hls/master.m3u8", width: 640, height: 360, codec: "h264" });
    const master = parseM3u8(text(hls.main));
    expect(master.playlists!.map((p) => p.attributes.RESOLUTION)).toEqual([
      { width: 640, height: 360 },
      { width: 426, height: 240 },
      { width: 256, height: 144 },
    ]);
    expect(master.playlists!.every((p) => p.attributes.BANDWIDTH! > 0 && p.attributes.SUBTITLES === "subs" && p.attributes.AUDIO)).toBe(true);
    expect(Object.keys(Object.values(master.mediaGroups!.AUDIO!)[0]!)).toEqual(["English"]);
    const sub = master.mediaGroups!.SUBTITLES!.subs!.English!;
    expect(sub).toMatchObject({ language: "en", default: true });
    const subPlaylist = parseM3u8(text(`out_hls/${sub.uri}`));
    expect(subPlaylist.endList).toBe(true);
    const vtt = text(`out_hls/${path.posix.join(path.posix.dirname(sub.uri!), subPlaylist.segments[0]!.uri)}`);
    expect(vtt).toMatch(/^WEBVTT/);
    expect(vtt).toContain("Hello");
    const hlsFiles = hls.files.map((f) => f.path);
    for (const p of master.playlists!) {
      const media = parseM3u8(text(`out_hls/${p.uri}`));
      expect(media).toMatchObject({ playlistType: "VOD", endList: true });
      expect(media.segments.length).toBeGreaterThanOrEqual(3);
      for (const f of hlsMediaFiles(`out_hls/${p.uri}`, media)) expect(hlsFiles).toContain(f);
    }
    const hlsRoot = materialise(hlsFiles);
    const probedHls = ffprobePackage(path.join(hlsRoot, "out_hls/master.m3u8"));
    expect(probedHls.streams.filter((s) => s.codec_type === "video").map((s) => `${s.codec_name} ${s.width}x${s.height}`).sort()).toEqual(["h264 256x144", "h264 426x240", "h264 640x360"]);
    expect(probedHls.streams.some((s) => s.codec_type === "audio" && s.codec_name === "aac")).toBe(true);

    // DASH: an MPD whose every segment was stored, readable by ffprobe.
    const dash = completed.get("t_dash")!;
    expect(dash.main).toBe("out_dash/manifest.mpd");
    const mpd = parseMpd(text(dash.main));
    expect(mpd.type).toBe("static");
    expect(mpd.durationS).toBeCloseTo(3, 0);
    expect(mpd.representations.filter((r) => r.contentType === "video").map((r) => [r.width, r.height])).toEqual([
      [640, 360],
      [320, 180],
    ]);
    expect(mpd.representations.some((r) => r.contentType === "audio")).toBe(true);
    const dashFiles = dash.files.map((f) => f.path);
    for (const r of mpd.representations) for (const f of r.files) expect(dashFiles).toContain(`out_dash/${f}`);
    const probedDash = ffprobePackage(path.join(materialise(dashFiles), "out_dash/manifest.mpd"));
    expect(probedDash.streams.filter((s) => s.codec_type === "video").length).toBe(2);

    // Adaptive: HLS and DASH name exactly the same segment files; no copy of any segment exists.
    const adaptive = completed.get("t_adaptive")!;
    expect(adaptive).toMatchObject({ main: "out_adaptive/master.m3u8", manifest: "out_adaptive/manifest.mpd", width: 640, height: 360 });
    const aMaster = parseM3u8(text(adaptive.main));
    const fromHls = new Set<string>();
    const mediaPlaylists = [...aMaster.playlists!.map((p) => p.uri), ...Object.values(aMaster.mediaGroups!.AUDIO!).flatMap((g) => Object.values(g).map((r) => r.uri!))];
    for (const uri of mediaPlaylists) {
      const media = parseM3u8(text(`out_adaptive/${uri}`));
      expect(media).toMatchObject({ playlistType: "VOD", endList: true });
      for (const f of hlsMediaFiles(uri, media)) fromHls.add(f);
    }
    const aMpd = parseMpd(text("out_adaptive/manifest.mpd"));
    const fromDash = new Set(aMpd.representations.filter((r) => r.contentType !== "text").flatMap((r) => r.files));
    expect([...fromHls].sort()).toEqual([...fromDash].sort());
    const segments = adaptive.files.map((f) => f.path).filter((f) => /\.(m4s|mp4)$/.test(f));
    expect(segments.map((f) => f.replace("out_adaptive/", "")).sort()).toEqual([...fromDash].sort());
    // Its subtitles: an HLS group and a DASH text set over the same WebVTT file.
    const aSub = Object.values(aMaster.mediaGroups!.SUBTITLES!.subs!)[0]!;
    expect(aSub.language).toBe("fr");
    const textSet = aMpd.representations.find((r) => r.contentType === "text")!;
    expect(textSet).toMatchObject({ mimeType: "text/vtt", lang: "fr" });
    expect(text(`out_adaptive/${textSet.files[0]}`)).toContain("Bonjour");
    expect(parseM3u8(text(`out_adaptive/${aSub.uri}`)).segments[0]!.uri).toBe(path.posix.basename(textSet.files[0]!));
    const adaptiveRoot = materialise(adaptive.files.map((f) => f.path));
    for (const entry of ["out_adaptive/master.m3u8", "out_adaptive/manifest.mpd"]) {
      const probed = ffprobePackage(path.join(adaptiveRoot, entry));
      expect(probed.streams.filter((s) => s.codec_type === "video").map((s) => s.height).sort()).toEqual([240, 360]);
    }

    // mkv: one file, h264 Main, never upscaled past the 360p source.
    const mkv = completed.get("t_mkv")!;
    expect(mkv).toMatchObject({ main: "out_mkv.mkv", width: 640, height: 360, codec: "h264" });
    const mkvRoot = materialise([mkv.main]);
    const probedMkv = ffprobe(path.join(mkvRoot, mkv.main));
    expect(probedMkv.format.format_name).toContain("matroska");
    expect(probedMkv.streams.map((s) => s.codec_name)).toEqual(["h264", "aac"]);
    expect(probedMkv.streams[0]).toMatchObject({ width: 640, height: 360 });
    expect(Number(probedMkv.format.duration)).toBeCloseTo(3, 0);
    expect(sink.uploads.get(mkv.main)!.contentType).toBe("video/x-matroska");
  }, 300_000);

  it("a subtitle file that cannot be fetched or read fails only its own output", async () => {
    const { completed, failed, events } = await runOrder("job_partial", [
      { task_id: "t_ok", output_id: "out_ok", spec: out("mp4", [{ codec: "h264", height: 180, quality: "economy" }]) },
      { task_id: "t_404", output_id: "out_404", spec: out("hls", [{ codec: "h264", height: 180 }], { subtitles: [{ url: media.url("missing.vtt"), language: "en" }] }) },
      { task_id: "t_junk", output_id: "out_junk", spec: out("dash", [{ codec: "h264", height: 180 }], { subtitles: [{ url: media.url("junk.srt"), format: "srt", language: "de" }] }) },
    ]);
    expect([...completed.keys()]).toEqual(["t_ok"]);
    expect(failed.get("t_404")).toMatchObject({ code: "input_unreachable", message: expect.stringMatching(/^subtitle track 1 \(en\): .*404/) });
    expect(failed.get("t_junk")).toMatchObject({ code: "input_unreadable", message: expect.stringMatching(/^subtitle track 1 \(de\)/) });
    expect([...sink.uploads.keys()].some((p) => p.startsWith("out_404") || p.startsWith("out_junk"))).toBe(false);
    expect(events.filter((e) => e.type === "task_started" && e.stage === "encode").map((e) => (e as { task_id: string }).task_id)).toEqual(["t_ok"]);
    const probed = ffprobe(path.join(materialise(["out_ok.mp4"]), "out_ok.mp4"));
    expect(probed.streams[0]).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
  }, 120_000);

  it("when the shared run fails, each output runs alone, so only the one that cannot be made fails", async () => {
    // libopus has no 44.1 kHz mode: the Worker refuses this; sent directly it stops the shared ffmpeg.
    const { completed, failed } = await runOrder("job_fallback", [
      { task_id: "t_good", output_id: "out_good", spec: out("webm", [{ codec: "vp9", height: 144, vp9: { speed: 8 } }]) },
      { task_id: "t_bad", output_id: "out_bad", spec: out("dash", [{ codec: "h264", height: 144 }], { audio: [{ codec: "opus", sample_rate: 44100 }] }) },
    ]);
    expect([...completed.keys()]).toEqual(["t_good"]);
    expect(failed.get("t_bad")).toMatchObject({ code: "encode_failed" });
    const good = completed.get("t_good")!;
    const probed = ffprobe(path.join(materialise([good.main]), good.main));
    expect(probed.streams.map((s) => s.codec_name)).toEqual(["vp9", "opus"]);
    expect(probed.streams[0]).toMatchObject({ width: 256, height: 144 });
  }, 120_000);
});
