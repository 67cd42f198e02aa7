import { describe, expect, it } from "vitest";
import { type StyleRenderSpec, joinGraph, loudnormFilter, measureCommand, renderCommand, shapingFilters, transitionOffsets } from "../../encoder/ffmpeg/style-render";
import { bassFor, compressorFor, loudnessTargetOf } from "../../encoder/style/apply-audio";
import { exactBox, planReframe } from "../../encoder/style/apply-frame";
import { firstGrade, gradeFilter, gradeTarget, refineGrade } from "../../encoder/style/apply-grade";
import { type PacingInput, carveSlots, chooseSlots, planCuts } from "../../encoder/style/apply-pacing";
import type { AudioAnalysis } from "../../encoder/style/analysis";
import { appliedParts } from "../../encoder/style/render";
import { aspectRatios, gradeOf, lowBandShareOf } from "../../encoder/style/scales";
import type { StyleJson } from "../../encoder/style/style-json";

/** Pure: the application's decisions and its ffmpeg argv, no ffmpeg. What ffmpeg makes of them is style-render.test.ts's job. */

const pacing = (over: Partial<PacingInput>): PacingInput => ({
  sourceSeconds: 10,
  sourceCuts: [5],
  shotSeconds: 2,
  wantedSeconds: 8,
  transitionSeconds: 0,
  frameRate: 30,
  marginSeconds: 0.08,
  ...over,
});

describe("pacing", () => {
  it("cuts at the template's rhythm and never uses a slot twice", () => {
    const cuts = planCuts(pacing({}));
    expect(cuts.pieces.map((p) => p.frames)).toEqual([60, 60, 60, 60]);
    expect(new Set(cuts.pieces.map((p) => p.start)).size).toBe(4);
    expect(cuts.renderedSeconds).toBe(8);
    expect(cuts.wantedSeconds).toBe(8);
  });

  it("never follows a slot with its neighbour in the same source shot", () => {
    for (const [seconds, cutsAt, wanted] of [[20, [], 12], [10, [5], 8], [9, [], 10], [30, [4, 11, 12.5, 20], 24]] as const) {
      const input = pacing({ sourceSeconds: seconds, sourceCuts: cutsAt, wantedSeconds: wanted });
      const slots = carveSlots(input, 2);
      const chosen = chooseSlots(slots, Math.round(wanted / 2));
      for (let i = 1; i < chosen.length; i++) {
        const [a, b] = [chosen[i - 1]!, chosen[i]!];
        expect(a.shot === b.shot && Math.abs(a.index - b.index) === 1, `${seconds} s, cuts ${cutsAt}: ${JSON.stringify([a, b])}`).toBe(false);
      }
      expect(new Set(chosen.map((s) => s.start)).size).toBe(chosen.length);
    }
  });

  it("takes consecutive shots from different source shots while there are any", () => {
    const chosen = chooseSlots(carveSlots(pacing({ sourceSeconds: 30, sourceCuts: [10, 20] }), 2), 12);
    expect(chosen.length).toBe(12);
    for (let i = 1; i < chosen.length; i++) expect(chosen[i]!.shot).not.toBe(chosen[i - 1]!.shot);
  });

  it("spreads fewer shots than slots over the whole source, in source order", () => {
    const starts = planCuts(pacing({ sourceSeconds: 60, sourceCuts: [], wantedSeconds: 8 })).pieces.map((p) => p.start);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(starts[0]).toBe(0);
    expect(starts.at(-1)!).toBeGreaterThan(50);
  });

  it("keeps slots clear of the source's cuts", () => {
    const slots = carveSlots(pacing({ sourceCuts: [5] }), 2);
    for (const slot of slots) expect(slot.start < 5 ? slot.start + 2 <= 5 - 0.08 + 1e-9 : slot.start >= 5 + 0.08 - 1e-9).toBe(true);
  });

  it("renders less than wanted when the source runs out, without repeating", () => {
    const cuts = planCuts(pacing({ sourceSeconds: 3, sourceCuts: [1.5], wantedSeconds: 8, shotSeconds: 1 }));
    expect(cuts.pieces.length).toBe(2);
    expect(cuts.renderedSeconds).toBe(2);
    expect(cuts.wantedSeconds).toBe(8);
  });

  it("lengthens pieces by the transitions' overlap, so the cuts keep the rhythm", () => {
    const cuts = planCuts(pacing({ sourceSeconds: 20, sourceCuts: [10], transitionSeconds: 0.5 }));
    expect(cuts.transitionFrames).toBe(15);
    expect(cuts.pieces.map((p) => p.frames)).toEqual([68, 75, 75, 67]);
    expect(transitionOffsets(cuts.pieces, 15, 30)).toEqual([53 / 30, 113 / 30, 173 / 30]);
  });
});

describe("reframe", () => {
  it("gives the exact ratio in even sides no larger than the crop", () => {
    for (const ratio of Object.keys(aspectRatios) as (keyof typeof aspectRatios)[]) {
      const box = exactBox(ratio, { width: 1280, height: 720 });
      expect(box.width / box.height).toBe(aspectRatios[ratio]);
      expect(box.width % 2 + (box.height % 2)).toBe(0);
      expect(box.width <= 1280 && box.height <= 720).toBe(true);
    }
  });

  it("crops 16:9 to 9:16 at the centre or the side asked for", () => {
    const centre = planReframe({ width: 320, height: 180 }, "9:16");
    expect(centre).toMatchObject({ fit: "cover", width: 90, height: 160 });
    const left = planReframe({ width: 1280, height: 720 }, "9:16", "left");
    expect(left).toMatchObject({ fit: "cover", width: 396, height: 704, x: 0 });
  });

  it("pads a source a crop would mostly discard", () => {
    expect(planReframe({ width: 2100, height: 900 }, "9:16")).toMatchObject({ fit: "contain", width: 1170, height: 2080 });
  });
});

describe("grade", () => {
  const neutral = { yavg: 120, ylow: 40, yhigh: 200, uavg: 128, vavg: 128, satavg: 25 };
  const warm = gradeOf({ yavg: 120, ylow: 50, yhigh: 180, uavg: 120, vavg: 140, satavg: 40 });

  it("turns a grade back into the statistics it was scored from", () => {
    const target = gradeTarget(warm);
    expect(target.ylow).toBeCloseTo(50, 0);
    expect(target.yhigh).toBeCloseTo(180, 0);
    expect(target.u).toBeCloseTo(-8, 1);
    expect(target.v).toBeCloseTo(12, 1);
    expect(target.satavg).toBeCloseTo(40, 1);
  });

  it("maps the percentiles onto the target's and moves the chroma mean there", () => {
    const map = firstGrade(neutral, gradeTarget(warm));
    const y = (v: number) => map.lumaTarget + map.lumaGain * (v - map.lumaCentre);
    expect(y(40)).toBeCloseTo(50, 0);
    expect(y(200)).toBeCloseTo(180, 0);
    expect(map.shift.u).toBeCloseTo(-8, 1);
    expect(map.chromaGain).toBeGreaterThan(1);
  });

  it("refines the chroma gain towards the target's saturation and the means by what was missed", () => {
    const target = gradeTarget(warm);
    const map = firstGrade(neutral, target);
    const short = refineGrade(map, { ...neutral, ylow: 50, yhigh: 180, uavg: 121, vavg: 139, satavg: 30 }, target);
    expect(short.chromaGain).toBeGreaterThan(map.chromaGain);
    expect(short.shift.u).toBeCloseTo(map.shift.u - 1, 5);
    expect(short.shift.v).toBeCloseTo(map.shift.v + 1, 5);
    const over = refineGrade(map, { ...neutral, ylow: 50, yhigh: 180, uavg: 120, vavg: 140, satavg: 50 }, target);
    expect(over.chromaGain).toBeLessThan(map.chromaGain);
  });

  it("writes lutyuv with negative numbers in parentheses", () => {
    const filter = gradeFilter(firstGrade(neutral, gradeTarget(warm)));
    expect(filter).toMatch(/^lutyuv=y='clip\(.*\)':u='clip\(128\+\(-8\)\+.*':v='clip\(128\+\(12\)\+/);
  });
});

const audio = (over: Partial<AudioAnalysis>): AudioAnalysis => ({
  present: true,
  integratedLufs: -28,
  loudnessRangeLu: 2,
  truePeakDbtp: -15,
  crestFactorDb: 12,
  lowBandShare: 0.1,
  speechBandShare: 0.4,
  tempoBpm: null,
  tempoStrength: null,
  beats: [],
  ...over,
});
const audioStyle = (compression_ratio: number, bass_boost: number) => ({ audio_style: { normalization_level: 0.5, compression_ratio, bass_boost, enhance_speech: false } }) as StyleJson;

describe("audio", () => {
  it("compresses above the mean level by the ratio between the styles, only towards more compression", () => {
    expect(compressorFor(audio({}), audioStyle(2, 0), audioStyle(5, 0))).toEqual({ thresholdDb: -27, ratio: 2.5 });
    expect(compressorFor(audio({}), audioStyle(5, 0), audioStyle(2, 0))).toBeNull();
  });

  it("shelves the low band to the template's share", () => {
    const bass = bassFor(audio({ lowBandShare: 0.1 }), audioStyle(1, 0), audioStyle(1, 40))!;
    const t = lowBandShareOf(40);
    const g = 10 ** (bass.gainDb / 10);
    expect((0.1 * g) / (0.1 * g + 0.9)).toBeCloseTo(t, 6);
    expect(bassFor(audio({}), audioStyle(1, 20), audioStyle(1, 20))).toBeNull();
    expect(bassFor(audio({ lowBandShare: 0 }), audioStyle(1, 0), audioStyle(1, 80))!.gainDb).toBe(12);
  });

  it("levels to the template's loudness within loudnorm's range, and leaves a silent template's alone", () => {
    expect(loudnessTargetOf(audio({ integratedLufs: -11 }))).toBe(-11);
    expect(loudnessTargetOf(audio({ integratedLufs: -2 }))).toBe(-5);
    expect(loudnessTargetOf(audio({ integratedLufs: null }))).toBeNull();
  });
});

describe("parts", () => {
  it("all on with a template unless switched off; none without one", () => {
    expect(appliedParts(true, {})).toEqual({ color: true, audio: true, pacing: true, reframe: true, zoom: true });
    expect(appliedParts(true, { apply: { color: false, zoom: false } })).toMatchObject({ color: false, zoom: false, audio: true });
    expect(appliedParts(false, { apply: { color: true } })).toEqual({ color: false, audio: false, pacing: false, reframe: false, zoom: false });
  });
});

const spec = (over: Partial<StyleRenderSpec>): StyleRenderSpec => ({
  source: "file:source.mp4",
  sourceFps: 25,
  audio: true,
  pieces: [
    { start: 2, frames: 60 },
    { start: 7, frames: 60 },
  ],
  join: { kind: "cut" },
  frameRate: 30,
  frame: { fit: "cover", width: 90, height: 160, scaled: { width: 284, height: 160 }, x: 96, y: 0 },
  zoomRate: 0,
  grade: null,
  shaping: { compressor: null, bass: null },
  ...over,
});

describe("render argv", () => {
  const encoding = { crf: 23, preset: "fast", audioArgs: ["-c:a", "aac", "-b:a", "128000"] };

  it("seeks one input per shot and concatenates picture and sound for cuts", () => {
    const command = renderCommand(spec({}), null, encoding, "file:out.mp4", 10);
    expect(command.args.slice(0, 10)).toEqual(["-ss", "2", "-t", "2.033", "-i", "file:source.mp4", "-ss", "7", "-t", "2.033"]);
    const graph = command.args[command.args.indexOf("-filter_complex") + 1]!;
    expect(graph).toContain("[v0][a0][v1][a1]concat=n=2:v=1:a=1[vj][aj]");
    expect(graph).toContain("fps=30,format=yuv420p,trim=end_frame=60");
    expect(command.durationS).toBe(4);
    expect(command.args).toEqual(expect.arrayContaining(["-c:v", "libx264", "-crf", "23", "-r", "30"]));
  });

  it("joins with xfade and acrossfade for fades, fading through black", () => {
    const graph = joinGraph(spec({ join: { kind: "fade", frames: 15 }, pieces: [{ start: 0, frames: 68 }, { start: 4, frames: 75 }, { start: 8, frames: 67 }] })).join(";");
    expect(graph).toContain("[v0][v1]xfade=transition=fadeblack:duration=0.5:offset=1.766667[vx1]");
    expect(graph).toContain("[vx1][v2]xfade=transition=fadeblack:duration=0.5:offset=3.766667[vj]");
    expect(graph).toContain("[ax1][a2]acrossfade=d=0.5[aj]");
  });

  it("leaves sound out for a video-only source", () => {
    const command = renderCommand(spec({ audio: false }), null, encoding, "file:out.mp4", 10);
    expect(command.args.join(" ")).not.toMatch(/\[a|-c:a|acompressor/);
    expect(command.args[command.args.indexOf("-filter_complex") + 1]).toContain("concat=n=2:v=1:a=0[vj]");
  });

  it("renders the whole source as one shot without pacing", () => {
    const command = renderCommand(spec({ pieces: null }), null, encoding, "file:out.mp4", 10);
    expect(command.args.slice(0, 2)).toEqual(["-i", "file:source.mp4"]);
    expect(command.args[command.args.indexOf("-filter_complex") + 1]).not.toContain("trim=");
    expect(command.durationS).toBe(10);
  });

  it("shapes the sound, then levels it linearly with what the measuring run found", () => {
    const loudness = { targetLufs: -11, truePeakDb: -1, measured: { lufs: -30, rangeLu: 0, truePeakDb: -17 } };
    expect(loudnormFilter(loudness)).toBe("loudnorm=I=-11:TP=-1:LRA=50:measured_I=-30:measured_LRA=0.1:measured_TP=-17:measured_thresh=-40:linear=true");
    const shaping = { compressor: { thresholdDb: -27, ratio: 2.5 }, bass: { gainDb: 6, frequency: 150 } };
    expect(shapingFilters(shaping)).toEqual(["acompressor=threshold=0.044668:ratio=2.5:attack=5:release=100:detection=peak", "bass=g=6:f=150:width_type=o:w=1"]);
    const graph = renderCommand(spec({ shaping }), loudness, encoding, "file:out.mp4", 10).args.join(" ");
    expect(graph.indexOf("acompressor")).toBeLessThan(graph.indexOf("loudnorm"));
  });

  it("measures the ungraded render: a picture sample and the shaped sound's loudness", () => {
    const command = measureCommand(spec({ grade: "lutyuv=y='val'" }), 10, true);
    const graph = command.args[command.args.indexOf("-filter_complex") + 1]!;
    expect(graph).not.toContain("lutyuv");
    expect(graph).toContain("[vj]fps=5,scale=160:-2:flags=area,format=yuv420p[sample]");
    expect(graph).toContain("ebur128=peak=true:metadata=1");
    expect(command.outputs).toEqual(["style-sample.nut", "style-loudness.txt"]);
  });
});
