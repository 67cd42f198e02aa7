import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { FfmpegCommand } from "../../encoder/ffmpeg/command";
import { MAX_ALLOC_BYTES } from "../../encoder/ffmpeg/limits";
import { fallsShort } from "../../encoder/ffmpeg/probe";
import { isInputDamage, runFfmpeg } from "../../encoder/ffmpeg/runner";

/**
 * The bounds every ffmpeg run has whatever its input declared, with real ffmpeg: a
 * wall-clock budget and a memory cap, each ending the run with resource_limit.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-run-limits-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const encode = (source: string, preset: string, durationS: number): FfmpegCommand => ({
  args: ["-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset", preset, "-f", "mp4", "out.mp4"],
  outputs: ["out.mp4"],
  main: "out.mp4",
  durationS,
});

async function failureOf(run: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await run;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("the run did not fail");
}

describe("ffmpeg run limits", () => {
  it("stops a run past its wall-clock budget with resource_limit", async () => {
    const started = performance.now();
    const err = await failureOf(runFfmpeg(encode("testsrc2=size=320x240:rate=25:duration=600", "ultrafast", 600), { cwd: dir, signal: new AbortController().signal, budgetMs: 500 }));
    expect(err.code).toBe("resource_limit");
    expect(err.message).toMatch(/budget of 1 s/);
    // Killed at the budget, not at the end of ten minutes of media.
    expect(performance.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it("stops a run past its memory cap with resource_limit", async () => {
    // x264's lookahead at 1080p holds far more than 64 MB.
    const err = await failureOf(
      runFfmpeg(encode("testsrc2=size=1920x1080:rate=25:duration=60", "medium", 60), { cwd: dir, signal: new AbortController().signal, maxRssBytes: 64 * 1024 ** 2 }),
    );
    expect(err.code).toBe("resource_limit");
    expect(err.message).toMatch(/past its limit of 64 MB/);
  }, 90_000);

  it("bounds every single allocation to one frame of the largest picture allowed", () => {
    expect(MAX_ALLOC_BYTES).toBe(8192 * 8192 * 8);
  });

  it("tells a file cut short from rounding, in short files too", () => {
    // Half of a 2 s file missing went unnoticed with a fixed 1 s tolerance.
    expect(fallsShort(1.0, 2.0)).toBe(true);
    expect(fallsShort(1.8, 2.0)).toBe(true);
    expect(fallsShort(1.96, 2.0)).toBe(false);
    expect(fallsShort(3598, 3600)).toBe(true);
    expect(fallsShort(3599.5, 3600)).toBe(false);
  });

  it("reads ffmpeg's reports of a damaged input, and not its encoder's complaints", () => {
    expect(isInputDamage("[h264 @ 0x55b40d72a1c0] error while decoding MB 9 3, bytestream -5")).toBe(true);
    expect(isInputDamage("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x557f] stream 1, offset 0x18ce5: partial file")).toBe(true);
    expect(isInputDamage("[mp4 @ 0x5599a8a17200] Application provided duration: 2147483648 is invalid")).toBe(true);
    expect(isInputDamage("[libx264 @ 0x55] height not divisible by 2 (320x181)")).toBe(false);
    expect(isInputDamage("Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0")).toBe(false);
  });
});
