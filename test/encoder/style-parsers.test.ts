import { describe, expect, it } from "vitest";
import { AUDIO_STATS_FILE, MOTION_FILE, PCM_FILE, VIDEO_STATS_FILE, audioAnalysisCommand, motionCommand, subtitleStreamsArgv, videoStatsCommand } from "../../encoder/ffmpeg/style-analysis";
import { frameSeriesOf, meanFrameStats, seriesFps } from "../../encoder/style/frame-series";
import { loudnessOf } from "../../encoder/style/loudness";
import { parseMetadataPrint, printedNumber } from "../../encoder/style/metadata-print";
import { parseVidstab } from "../../encoder/style/vidstab";

/** Captured from ffmpeg 5.1: `scale=160:-2,format=yuv420p,signalstats,scdet=threshold=100,metadata=print` (trimmed keys). */
const videoStats = `frame:0    pts:0       pts_time:0
lavfi.signalstats.YLOW=41
lavfi.signalstats.YAVG=120.741
lavfi.signalstats.YHIGH=210
lavfi.signalstats.UAVG=130.184
lavfi.signalstats.VAVG=126.442
lavfi.signalstats.SATAVG=107.052
lavfi.signalstats.YDIF=0
lavfi.scd.mafd=0.000
lavfi.scd.score=0.000
frame:1    pts:512     pts_time:0.0333333
lavfi.signalstats.YLOW=43
lavfi.signalstats.YAVG=122.1
lavfi.signalstats.YHIGH=212
lavfi.signalstats.UAVG=129.816
lavfi.signalstats.VAVG=127.558
lavfi.signalstats.SATAVG=105.948
lavfi.signalstats.YDIF=2.24
lavfi.scd.mafd=0.870
lavfi.scd.score=0.260
frame:2    pts:1024    pts_time:0.0666667
lavfi.signalstats.YLOW=16
lavfi.signalstats.YAVG=84.1
lavfi.signalstats.YHIGH=180
lavfi.signalstats.UAVG=128
lavfi.signalstats.VAVG=128
lavfi.signalstats.SATAVG=60
lavfi.signalstats.YDIF=38.55
lavfi.scd.mafd=15.060
lavfi.scd.score=14.190
`;

/** Captured: `ebur128=peak=true:metadata=1,astats=metadata=1:reset=0:…,ametadata=print`, its last frames (the final partial frame has no r128 keys). */
const audioStats = `frame:38   pts:182400  pts_time:3.8
lavfi.r128.M=-12.743
lavfi.r128.S=-12.732
lavfi.r128.I=-12.675
lavfi.r128.LRA=0.110
lavfi.r128.LRA.low=-12.770
lavfi.r128.LRA.high=-12.660
lavfi.r128.true_peaks_ch0=0.869
lavfi.r128.true_peak=0.869
lavfi.astats.Overall.Peak_level=-1.842275
lavfi.astats.Overall.RMS_level=-12.605138
frame:39   pts:187200  pts_time:3.9
lavfi.r128.M=-12.744
lavfi.r128.S=-12.733
lavfi.r128.I=-12.676
lavfi.r128.LRA=0.110
lavfi.r128.LRA.low=-12.770
lavfi.r128.LRA.high=-12.660
lavfi.r128.true_peaks_ch0=0.812
lavfi.r128.true_peak=0.812
lavfi.astats.Overall.Peak_level=-1.842275
lavfi.astats.Overall.RMS_level=-12.610000
frame:40   pts:192000  pts_time:4
lavfi.astats.Overall.Peak_level=-1.842275
lavfi.astats.Overall.RMS_level=-12.616639
`;

/** Captured: silence through the same chain (every block gated out). */
const silentStats = `frame:0    pts:0       pts_time:0
lavfi.r128.M=-120.691
lavfi.r128.S=-120.691
lavfi.r128.I=-70.000
lavfi.r128.LRA=0.000
lavfi.r128.true_peak=0.000
lavfi.astats.Overall.Peak_level=-inf
lavfi.astats.Overall.RMS_level=-inf
`;

/** Captured: vidstabdetect (libvidstab 1.1) transforms file, two fields per frame kept. */
const transforms = `VID.STAB 1
#      accuracy = 15
#     shakiness = 5
#      stepsize = 6
#   mincontrast = 0.250000
Frame 1 (List 0 [])
Frame 2 (List 2 [(LM 0 -9 158 47 32 0.693269 0.851562),(LM -7 -11 195 47 32 0.327456 0.139648)])
Frame 3 (List 1 [(LM 12 0 158 90 16 0.686471 0.000977)])
`;

describe("metadata print", () => {
  it("reads each frame's time and values", () => {
    const frames = parseMetadataPrint(videoStats);
    expect(frames.map((f) => f.time)).toEqual([0, 0.0333333, 0.0666667]);
    expect(frames[2]!.values.get("lavfi.scd.score")).toBe(14.19);
  });

  it("reads ffmpeg's infinities and rejects empty values", () => {
    expect(printedNumber("-inf")).toBe(-Infinity);
    expect(printedNumber("inf")).toBe(Infinity);
    expect(printedNumber("nan")).toBeNaN();
    expect(printedNumber("")).toBeNaN();
  });
});

describe("frame series", () => {
  it("turns signalstats and scdet frames into series and their means", () => {
    const series = frameSeriesOf(parseMetadataPrint(videoStats));
    expect(series.yavg).toEqual([120.741, 122.1, 84.1]);
    expect(series.ydif).toEqual([0, 2.24, 38.55]);
    expect(series.sceneScore).toEqual([0, 0.26, 14.19]);
    expect(meanFrameStats(series)).toEqual({ yavg: 108.98, ylow: 33.333, yhigh: 200.667, uavg: 129.333, vavg: 127.333, satavg: 91 });
    expect(seriesFps(series)).toBeCloseTo(30, 3);
  });

  it("has no statistics without frames", () => {
    expect(meanFrameStats(frameSeriesOf([]))).toBeNull();
  });
});

describe("loudness", () => {
  it("takes each measure's last value, the highest true peak, and the crest factor from astats", () => {
    expect(loudnessOf(parseMetadataPrint(audioStats))).toEqual({
      integratedLufs: -12.68,
      loudnessRangeLu: 0.11,
      truePeakDbtp: -1.22,
      crestFactorDb: 10.77,
    });
  });

  it("measures nothing in silence", () => {
    expect(loudnessOf(parseMetadataPrint(silentStats))).toEqual({ integratedLufs: null, loudnessRangeLu: null, truePeakDbtp: null, crestFactorDb: null });
  });
});

describe("vidstab transforms", () => {
  it("reads every frame's local motions", () => {
    expect(parseVidstab(transforms)).toEqual([
      [],
      [
        { vx: 0, vy: -9, fx: 158, fy: 47 },
        { vx: -7, vy: -11, fx: 195, fy: 47 },
      ],
      [{ vx: 12, vy: 0, fx: 158, fy: 90 }],
    ]);
  });
});

describe("analysis argv builders", () => {
  it("name the input with file: and write into the working directory", () => {
    const video = videoStatsCommand("/in/a b.mp4", 6);
    expect(video.args.slice(0, 2)).toEqual(["-i", "file:/in/a b.mp4"]);
    expect(video.args.join(" ")).toContain(`metadata=mode=print:file=${VIDEO_STATS_FILE}`);
    const audio = audioAnalysisCommand("/in/a.mp4", 6);
    expect(audio.outputs).toEqual([AUDIO_STATS_FILE, PCM_FILE]);
    expect(audio.args.at(-1)).toBe(PCM_FILE);
    expect(motionCommand("/in/a.mp4", 6).args.join(" ")).toContain(`vidstabdetect=result=${MOTION_FILE}`);
    expect(subtitleStreamsArgv("/in/a.mp4")).toContain("file:/in/a.mp4");
  });
});
