import { describe, expect, it } from "vitest";
import type { EncodeSpec } from "../../encoder/contract";
import type { FfmpegCommand, SourceInfo } from "../../encoder/ffmpeg/command";
import { buildEncodeCommand } from "../../encoder/ffmpeg/encode";
import { even, frameFilters, offsets, padColor, planFrame, resolveDimension, timeWindow } from "../../encoder/ffmpeg/framing";
import { planLadder } from "../../encoder/ffmpeg/hls";
import { frameTime } from "../../encoder/ffmpeg/image";

/** Pure: argv only, no ffmpeg. What ffmpeg makes of these is encode-kinds.test.ts's job. */

const landscape: SourceInfo = { file: "input", width: 640, height: 360, durationS: 3, fps: 30, hasVideo: true, hasAudio: true };
const silent: SourceInfo = { ...landscape, hasAudio: false };

function build(spec: EncodeSpec, source = landscape): FfmpegCommand {
  return buildEncodeCommand(spec, source, "out");
}

/** The value following a flag, e.g. valueOf(args, "-crf"). */
function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe("framing math", () => {
  it("rounds to the nearest even size, never below 2", () => {
    expect([even(168.75), even(169), even(241), even(0.4), even(300)]).toEqual([168, 170, 242, 2, 300]);
  });

  it("resolves percentages against the source side and passes pixels through", () => {
    expect(resolveDimension("50%", 641)).toBe(320.5);
    expect(resolveDimension("100%", 360)).toBe(360);
    expect(resolveDimension(123, 999)).toBe(123);
    expect(() => resolveDimension("50", 100)).toThrow();
  });

  it("contain scales into the box and pads at the centre", () => {
    const plan = planFrame({ width: 300, height: 300, fit: "contain" }, { width: 640, height: 360 });
    expect(plan).toEqual({ fit: "contain", width: 300, height: 300, scaled: { width: 300, height: 168 }, x: 0, y: 66, background: "black" });
    expect(frameFilters(plan)).toEqual(["scale=300:168", "pad=300:300:0:66:color=black", "setsar=1"]);
  });

  it("contain is the default fit and pillarboxes a portrait source", () => {
    const plan = planFrame({ width: 640, height: 360 }, { width: 360, height: 640 });
    expect(plan).toMatchObject({ fit: "contain", scaled: { width: 202, height: 360 }, x: 218, y: 0 });
  });

  it("cover scales to fill the box and crops at the position", () => {
    const source = { width: 640, height: 360 };
    const center = planFrame({ width: 300, height: 300, fit: "cover" }, source);
    expect(center).toEqual({ fit: "cover", width: 300, height: 300, scaled: { width: 534, height: 300 }, x: 116, y: 0 });
    expect(frameFilters(center)).toEqual(["scale=534:300", "crop=300:300:116:0", "setsar=1"]);
    expect(planFrame({ width: 300, height: 300, fit: "cover", position: "left" }, source)).toMatchObject({ x: 0, y: 0 });
    expect(planFrame({ width: 300, height: 300, fit: "cover", position: "bottom_right" }, source)).toMatchObject({ x: 234, y: 0 });
    expect(planFrame({ width: 640, height: 100, fit: "cover", position: "bottom" }, source)).toMatchObject({ scaled: { width: 640, height: 360 }, x: 0, y: 260 });
  });

  it("places rectangles on even offsets", () => {
    expect(offsets({ width: 100, height: 100 }, { width: 40, height: 90 }, "center")).toEqual({ x: 30, y: 4 });
    expect(offsets({ width: 100, height: 100 }, { width: 40, height: 90 }, "top_right")).toEqual({ x: 60, y: 0 });
  });

  it("fill stretches to the box", () => {
    const plan = planFrame({ width: 300, height: 301, fit: "fill" }, { width: 640, height: 360 });
    expect(plan).toEqual({ fit: "scale", width: 300, height: 302 });
  });

  it("keeps the aspect ratio when one side is given, and the source size when none is", () => {
    expect(planFrame({ width: 320 }, { width: 640, height: 360 })).toEqual({ fit: "scale", width: 320, height: 180 });
    expect(planFrame({ height: 100 }, { width: 640, height: 360 })).toEqual({ fit: "scale", width: 178, height: 100 });
    expect(planFrame({ width: "50%" }, { width: 321, height: 241 })).toEqual({ fit: "scale", width: 160, height: 120 });
    expect(planFrame({}, { width: 321, height: 241 })).toEqual({ fit: "scale", width: 322, height: 242 });
    expect(planFrame({ width: "50%", height: "50%", fit: "fill" }, { width: 640, height: 360 })).toEqual({ fit: "scale", width: 320, height: 180 });
  });

  it("accepts only hex colours for the background", () => {
    expect(padColor("#fff")).toBe("0xFFFFFF");
    expect(padColor("#12abEF")).toBe("0x12ABEF");
    expect(() => padColor("red")).toThrow();
    expect(() => padColor("#000000,movie=/etc/passwd")).toThrow();
  });

  it("clamps the time window to the source and refuses an empty one", () => {
    expect(timeWindow({}, 3)).toEqual({ start: 0, durationS: 3, cut: false });
    expect(timeWindow({ start: 1, end: 2 }, 3)).toEqual({ start: 1, durationS: 1, cut: true });
    expect(timeWindow({ start: 1, end: 10 }, 3)).toEqual({ start: 1, durationS: 2, cut: false });
    expect(() => timeWindow({ start: 3 }, 3)).toThrow();
  });

  it("takes a still no later than the last frame", () => {
    expect(frameTime(undefined, landscape)).toBe(0);
    expect(frameTime(1.25, landscape)).toBe(1.25);
    expect(frameTime(10, landscape)).toBeCloseTo(2.95, 6);
    expect(frameTime(10, { ...landscape, durationS: 0 })).toBe(0);
  });
});

describe("video", () => {
  it("h264 in mp4: x264 at the tier's CRF, yuv420p, faststart and AAC", () => {
    const cmd = build({ kind: "video", format: "mp4", codec: "h264" });
    expect(cmd.args.slice(0, 2)).toEqual(["-i", "input"]);
    expect(valueOf(cmd.args, "-c:v")).toBe("libx264");
    expect(valueOf(cmd.args, "-crf")).toBe("23");
    expect(valueOf(cmd.args, "-preset")).toBe("fast");
    expect(valueOf(cmd.args, "-vf")).toBe("scale=640:360,setsar=1,format=yuv420p");
    expect(valueOf(cmd.args, "-movflags")).toBe("+faststart");
    expect(valueOf(cmd.args, "-c:a")).toBe("aac");
    expect(valueOf(cmd.args, "-b:a")).toBe("128000");
    expect(valueOf(cmd.args, "-f")).toBe("mp4");
    expect(cmd.args.filter((a) => a === "-map")).toHaveLength(2);
    expect(cmd.args.at(-1)).toBe("out.mp4");
    expect(cmd).toMatchObject({ outputs: ["out.mp4"], main: "out.mp4", durationS: 3 });
    expect(cmd.post).toBeUndefined();
  });

  it("maps every tier to its own CRF per codec", () => {
    const tiers = ["very_low", "low", "medium", "high", "very_high"] as const;
    const crfs = (codec: "h264" | "h265" | "vp9" | "av1", format: "mp4" | "webm") =>
      tiers.map((quality) => Number(valueOf(build({ kind: "video", format, codec, quality }).args, "-crf")));
    expect(crfs("h264", "mp4")).toEqual([32, 28, 23, 20, 17]);
    expect(crfs("h265", "mp4")).toEqual([35, 31, 28, 24, 21]);
    expect(crfs("vp9", "webm")).toEqual([45, 38, 33, 28, 24]);
    expect(crfs("av1", "webm")).toEqual([50, 42, 35, 30, 25]);
  });

  it("tags h265 as hvc1 and quiets x265", () => {
    const cmd = build({ kind: "video", format: "mov", codec: "h265" });
    expect(valueOf(cmd.args, "-c:v")).toBe("libx265");
    expect(valueOf(cmd.args, "-tag:v")).toBe("hvc1");
    expect(valueOf(cmd.args, "-x265-params")).toBe("log-level=error");
    expect(valueOf(cmd.args, "-f")).toBe("mov");
    expect(cmd.main).toBe("out.mov");
  });

  it("vp9 in webm: constant quality, Opus, no faststart", () => {
    const cmd = build({ kind: "video", format: "webm", codec: "vp9", quality: "high" });
    expect(valueOf(cmd.args, "-c:v")).toBe("libvpx-vp9");
    expect(valueOf(cmd.args, "-b:v")).toBe("0");
    expect(valueOf(cmd.args, "-row-mt")).toBe("1");
    expect(valueOf(cmd.args, "-c:a")).toBe("libopus");
    expect(cmd.args).not.toContain("-movflags");
    expect(cmd.main).toBe("out.webm");
  });

  it("an explicit bitrate replaces the CRF with a capped rate", () => {
    const cmd = build({ kind: "video", format: "mp4", codec: "h264", bitrate: 1_000_000 });
    expect(cmd.args).not.toContain("-crf");
    expect([valueOf(cmd.args, "-b:v"), valueOf(cmd.args, "-maxrate"), valueOf(cmd.args, "-bufsize")]).toEqual(["1000000", "1000000", "2000000"]);
    const av1 = build({ kind: "video", format: "webm", codec: "av1", bitrate: 500_000 });
    expect(valueOf(av1.args, "-c:v")).toBe("libsvtav1");
    expect(valueOf(av1.args, "-b:v")).toBe("500000");
    expect(av1.args).not.toContain("-maxrate");
  });

  it("leaves audio out for a silent source", () => {
    const cmd = build({ kind: "video", format: "mp4", codec: "h264" }, silent);
    expect(cmd.args).not.toContain("-c:a");
    expect(cmd.args).not.toContain("0:a:0");
    expect(cmd.args.filter((a) => a === "-map")).toHaveLength(1);
  });

  it("trims with an accurate input seek and a duration", () => {
    const cmd = build({ kind: "video", format: "mp4", codec: "h264", start: 0.5, end: 1.7 });
    expect(cmd.args.slice(0, 6)).toEqual(["-ss", "0.5", "-t", "1.2", "-i", "input"]);
    expect(cmd.durationS).toBeCloseTo(1.2, 9);
    const tail = build({ kind: "video", format: "mp4", codec: "h264", start: 1, end: 99 });
    expect(tail.args.slice(0, 4)).toEqual(["-ss", "1", "-i", "input"]);
    expect(tail.durationS).toBe(2);
  });

  it("frames, sets the rate and pads with the background", () => {
    const cmd = build({ kind: "video", format: "mp4", codec: "h264", width: 300, height: 300, background: "#f00", fps: 15 });
    expect(valueOf(cmd.args, "-vf")).toBe("scale=300:168,pad=300:300:0:66:color=0xFF0000,setsar=1,fps=15,format=yuv420p");
  });

  it("uses display sizes, so a rotated source comes out portrait", () => {
    const phone: SourceInfo = { ...landscape, width: 360, height: 640 };
    expect(valueOf(build({ kind: "video", format: "mp4", codec: "h264", height: "50%" }, phone).args, "-vf")).toBe("scale=180:320,setsar=1,format=yuv420p");
  });

  it("refuses what the containers or encoders cannot take", () => {
    expect(() => build({ kind: "video", format: "webm", codec: "h264" })).toThrow(/cannot be stored/);
    expect(() => build({ kind: "video", format: "mov", codec: "av1" })).toThrow(/cannot be stored/);
    expect(() => build({ kind: "video", format: "mp4", codec: "av1", width: 100 })).toThrow(/at least 64/);
    expect(() => build({ kind: "video", format: "mp4", codec: "h264", start: 5 })).toThrow(/not before the end/);
    expect(() => build({ kind: "video", format: "mp4", codec: "h264" }, { ...landscape, hasVideo: false, width: null, height: null })).toThrow(/no video/);
  });

  it("refuses output names that would read as options, paths or patterns", () => {
    for (const base of ["-y", "../x", "a/b", "a%d", "a%v", ""]) {
      expect(() => buildEncodeCommand({ kind: "audio", format: "mp3" }, landscape, base)).toThrow(/output name/);
    }
  });
});

describe("audio", () => {
  const cases = [
    { format: "mp3", encoder: "libmp3lame", muxer: "mp3", file: "out.mp3", bitrate: "160000" },
    { format: "aac", encoder: "aac", muxer: "ipod", file: "out.m4a", bitrate: "128000" },
    { format: "ogg", encoder: "libvorbis", muxer: "ogg", file: "out.ogg", bitrate: "128000" },
    { format: "opus", encoder: "libopus", muxer: "opus", file: "out.opus", bitrate: "96000" },
    { format: "wav", encoder: "pcm_s16le", muxer: "wav", file: "out.wav", bitrate: undefined },
    { format: "flac", encoder: "flac", muxer: "flac", file: "out.flac", bitrate: undefined },
  ] as const;
  it.each(cases)("$format: $encoder into $muxer", ({ format, encoder, muxer, file, bitrate }) => {
    const cmd = build({ kind: "audio", format });
    expect(valueOf(cmd.args, "-map")).toBe("0:a:0");
    expect(cmd.args).not.toContain("0:v:0");
    expect(valueOf(cmd.args, "-c:a")).toBe(encoder);
    expect(valueOf(cmd.args, "-b:a")).toBe(bitrate);
    expect(valueOf(cmd.args, "-f")).toBe(muxer);
    expect(cmd.main).toBe(file);
    expect(cmd.outputs).toEqual([file]);
  });

  it("an explicit bitrate wins over the tier, and the window trims", () => {
    const cmd = build({ kind: "audio", format: "mp3", quality: "very_low", bitrate: 256_000, start: 1, end: 2.5 });
    expect(valueOf(cmd.args, "-b:a")).toBe("256000");
    expect(cmd.args.slice(0, 6)).toEqual(["-ss", "1", "-t", "1.5", "-i", "input"]);
    expect(valueOf(build({ kind: "audio", format: "aac", quality: "very_high" }).args, "-b:a")).toBe("256000");
  });
});

describe("image", () => {
  it("jpeg: one frame at the clamped start, resized", () => {
    const cmd = build({ kind: "image", format: "jpeg", start: 99, width: 320 });
    expect(cmd.args.slice(0, 4)).toEqual(["-ss", "2.95", "-i", "input"]);
    expect(valueOf(cmd.args, "-frames:v")).toBe("1");
    expect(valueOf(cmd.args, "-c:v")).toBe("mjpeg");
    expect(valueOf(cmd.args, "-q:v")).toBe("5");
    expect(valueOf(cmd.args, "-vf")).toBe("scale=320:180,setsar=1");
    expect(cmd.main).toBe("out.jpg");
  });

  it("png and webp", () => {
    expect(valueOf(build({ kind: "image", format: "png" }).args, "-c:v")).toBe("png");
    const webp = build({ kind: "image", format: "webp", quality: "low" });
    expect([valueOf(webp.args, "-c:v"), valueOf(webp.args, "-quality"), webp.main]).toEqual(["libwebp", "60", "out.webp"]);
  });

  it("avif: ffmpeg writes a PNG and the post step converts it", () => {
    const cmd = build({ kind: "image", format: "avif", quality: "high" });
    expect(cmd.args.at(-1)).toBe("out.avif-source.png");
    expect(valueOf(cmd.args, "-c:v")).toBe("png");
    expect(cmd.post).toEqual({ kind: "avif", source: "out.avif-source.png", target: "out.avif", quality: 64 });
    expect(cmd.outputs).toEqual(["out.avif"]);
    expect(cmd.main).toBe("out.avif");
  });
});

describe("animation", () => {
  it("gif: palettegen and paletteuse in one graph at 10 fps", () => {
    const cmd = build({ kind: "animation", format: "gif", end: 2, width: 160 });
    expect(valueOf(cmd.args, "-filter_complex")).toBe(
      "[0:v:0]fps=10,scale=160:90,setsar=1,split[frames][sample];[sample]palettegen=max_colors=128[palette];[frames][palette]paletteuse=dither=sierra2_4a[gif]",
    );
    expect(valueOf(cmd.args, "-map")).toBe("[gif]");
    expect(valueOf(cmd.args, "-f")).toBe("gif");
    expect(cmd.args.slice(0, 4)).toEqual(["-t", "2", "-i", "input"]);
    expect(cmd).toMatchObject({ main: "out.gif", durationS: 2 });
  });

  it("webp: libwebp_anim, looping, never faster than the source by default", () => {
    const cmd = build({ kind: "animation", format: "webp", start: 1, end: 2 }, { ...landscape, fps: 8 });
    expect(valueOf(cmd.args, "-c:v")).toBe("libwebp_anim");
    expect(valueOf(cmd.args, "-loop")).toBe("0");
    expect(valueOf(cmd.args, "-vf")).toBe("fps=8,scale=640:360,setsar=1");
    expect(valueOf(build({ kind: "animation", format: "webp", end: 2, fps: 24 }).args, "-vf")).toMatch(/^fps=24,/);
  });
});

describe("adaptive video", () => {
  const sized = (w: number, h: number) => ({ width: w, height: h });
  const ladder = (spec: Partial<Extract<EncodeSpec, { kind: "adaptive_video" }>>, source: { width: number; height: number }) =>
    planLadder({ kind: "adaptive_video", format: "hls", ...spec }, source).map((r) => `${r.name} ${r.plan.width}x${r.plan.height} ${r.maxrate}`);

  it("takes every standard rung up to the source, never more", () => {
    expect(ladder({}, sized(1920, 1080))).toEqual([
      "1080p 1920x1080 5000000",
      "720p 1280x720 2800000",
      "480p 854x480 1400000",
      "360p 640x360 800000",
      "240p 426x240 400000",
    ]);
    expect(ladder({}, sized(640, 360))).toEqual(["360p 640x360 800000", "240p 426x240 400000"]);
    expect(ladder({}, sized(1280, 800))[0]).toBe("720p 1152x720 2800000");
  });

  it("gives a source below the smallest rung one rung at its own size", () => {
    expect(ladder({}, sized(200, 112))).toEqual(["112p 200x112 87111"]);
  });

  it("names portrait rungs by their short side", () => {
    expect(ladder({}, sized(360, 640))).toEqual(["360p 360x640 800000", "240p 240x426 400000"]);
  });

  it("lets width/height cap the top rung and the tier scale the caps", () => {
    expect(ladder({ height: 480, quality: "high" }, sized(1920, 1080))).toEqual(["480p 854x480 1960000", "360p 640x360 1120000", "240p 428x240 560000"]);
    expect(ladder({ height: 2160 }, sized(640, 360))[0]).toBe("360p 640x360 800000");
  });

  it("frames every rung like the top one", () => {
    const rungs = planLadder({ kind: "adaptive_video", format: "hls", width: 720, height: 720, fit: "contain" }, sized(1280, 720));
    expect(rungs.map((r) => frameFilters(r.plan).join(","))).toEqual([
      "scale=720:406,pad=720:720:0:156:color=black,setsar=1",
      "scale=480:270,pad=480:480:0:104:color=black,setsar=1",
      "scale=360:202,pad=360:360:0:78:color=black,setsar=1",
      "scale=240:136,pad=240:240:0:52:color=black,setsar=1",
    ]);
  });

  it("one decode split per rung, fMP4 segments, audio as a group", () => {
    const cmd = build({ kind: "adaptive_video", format: "hls" });
    expect(valueOf(cmd.args, "-filter_complex")).toBe(
      "[0:v:0]split=2[s0][s1];[s0]scale=640:360,setsar=1,format=yuv420p[v0];[s1]scale=426:240,setsar=1,format=yuv420p[v1]",
    );
    expect(cmd.args.filter((a) => a === "-i")).toHaveLength(1);
    expect(valueOf(cmd.args, "-hls_segment_type")).toBe("fmp4");
    expect(valueOf(cmd.args, "-hls_playlist_type")).toBe("vod");
    expect(valueOf(cmd.args, "-hls_time")).toBe("2");
    expect(valueOf(cmd.args, "-master_pl_name")).toBe("master.m3u8");
    expect(valueOf(cmd.args, "-var_stream_map")).toBe("v:0,agroup:audio,name:360p v:1,agroup:audio,name:240p a:0,agroup:audio,name:audio");
    expect([valueOf(cmd.args, "-maxrate:v:0"), valueOf(cmd.args, "-bufsize:v:1")]).toEqual(["800000", "800000"]);
    expect(valueOf(cmd.args, "-c:v")).toBe("libx264");
    expect(valueOf(cmd.args, "-c:a")).toBe("aac");
    expect(cmd.args.at(-1)).toBe("out/%v/index.m3u8");
    expect(cmd.main).toBe("out/master.m3u8");
    expect(cmd.outputs).toEqual([
      "out/master.m3u8",
      "out/360p/index.m3u8",
      "out/360p/init_360p.mp4",
      "out/240p/index.m3u8",
      "out/240p/init_240p.mp4",
      "out/audio/index.m3u8",
      "out/audio/init_audio.mp4",
    ]);
  });

  it("without audio there is no group, and long sources get 4 s segments", () => {
    const cmd = build({ kind: "adaptive_video", format: "hls" }, { ...silent, durationS: 60 });
    expect(valueOf(cmd.args, "-var_stream_map")).toBe("v:0,name:360p v:1,name:240p");
    expect(cmd.args).not.toContain("-c:a");
    expect(valueOf(cmd.args, "-hls_time")).toBe("4");
    expect(valueOf(cmd.args, "-force_key_frames")).toBe("expr:gte(t,n_forced*4)");
    expect(cmd.outputs).not.toContain("out/audio/index.m3u8");
  });
});
