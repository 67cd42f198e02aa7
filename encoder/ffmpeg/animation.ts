import type { EncodeSpec } from "../contract";
import type { FfmpegCommand, SourceInfo } from "./command";
import { displaySize, frameFilters, planFrame, timeWindow, windowedInput } from "./framing";
import { DEFAULT_QUALITY, imageQuality } from "./quality";

type AnimationSpec = Extract<EncodeSpec, { kind: "animation" }>;

/** Animations are previews: 10 fps looks like motion at a fraction of the bytes. */
const DEFAULT_ANIMATION_FPS = 10;

/** The requested rate, or the default when the source is at least that fast. */
function animationFps(requested: number | undefined, source: SourceInfo): number {
  return requested ?? Math.min(DEFAULT_ANIMATION_FPS, source.fps || DEFAULT_ANIMATION_FPS);
}

/**
 * GIF: one palette for the whole clip, built from the frames themselves
 * (palettegen) and applied with error diffusion (paletteuse), in a single graph so
 * the source is decoded once. split holds the frames until the palette exists, which
 * is fine at preview sizes and rates. WebP: libwebp_anim, looping forever like GIFs.
 */
export function buildAnimationCommand(spec: AnimationSpec, source: SourceInfo, outputBase: string): FfmpegCommand {
  const quality = imageQuality[spec.quality ?? DEFAULT_QUALITY];
  const window = timeWindow(spec, source.durationS);
  const picture = [`fps=${animationFps(spec.fps, source)}`, ...frameFilters(planFrame(spec, displaySize(source)))].join(",");
  const output = `${outputBase}.${spec.format}`;
  const encode =
    spec.format === "gif"
      ? [
          "-filter_complex", `[0:v:0]${picture},split[frames][sample];[sample]palettegen=max_colors=${quality.gifColors}[palette];[frames][palette]paletteuse=dither=sierra2_4a[gif]`,
          "-map", "[gif]",
          "-loop", "0",
          "-f", "gif",
        ]
      : ["-map", "0:v:0", "-vf", picture, "-c:v", "libwebp_anim", "-quality", String(quality.webp), "-loop", "0", "-f", "webp"];
  return {
    args: [...windowedInput(source.file, window), ...encode, output],
    outputs: [output],
    main: output,
    durationS: window.durationS,
  };
}
