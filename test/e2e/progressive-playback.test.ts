import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, ensureChromium } from "../../scripts/bootstrap.mjs";
import { type E2EStack, bootStack, download, jobWithStatus, parsePlaylist, until, watchJob } from "./harness";

/**
 * Playback before the job completes, through the whole local stack: an adaptive_video
 * job's package is published as it is encoded, and hls.js in Chromium plays its master
 * playlist while the job is processing, then on to the end once the playlists end.
 *
 * Deterministic without timing: the input is a faststart MP4 whose origin holds back
 * its last 3 s until the player has played past the first segment, and the encoder is
 * told to wait that long for bytes still to come, so the job cannot complete before.
 */

// The page.evaluate callbacks below run in the browser; this file compiles with Node's types only.
declare const document: any, window: any, Hls: any;

const SECONDS = 10;
const HOLD_FROM_S = 7;

let stack: E2EStack;
let origin: Server;
let originUrl: string;
let clip: Buffer;
let holdAt: number;
const held: ServerResponse[] = [];
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  ensureChromium();
  const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-e2e-progressive-"));
  const file = path.join(dir, "clip.mp4");
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=640x360:rate=30:duration=${SECONDS}`,
    "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
    "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", file,
  ]);
  clip = readFileSync(file);
  const packets = execFileSync("ffprobe", ["-v", "error", "-show_entries", "packet=pts_time,pos", "-of", "csv=p=0", file], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.split(",").map(Number) as [number, number]);
  holdAt = Math.min(...packets.filter(([pts]) => pts >= HOLD_FROM_S).map(([, pos]) => pos));
  origin = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "video/mp4", "content-length": clip.length });
    res.write(clip.subarray(0, holdAt));
    held.push(res);
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/clip.mp4`;

  stack = await bootStack({}, { GROWING_INPUT_WAIT_MS: "120000" });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });
  page = await (await browser.newContext()).newPage();
  page.on("pageerror", (err) => pageErrors.push(err.message));
});
afterAll(async () => {
  for (const res of held) res.destroy();
  await browser?.close();
  await new Promise<void>((resolve) => (origin ? origin.close(() => resolve()) : resolve()));
  await stack?.stop();
});

const release = () => {
  for (const res of held.splice(0)) res.end(clip.subarray(holdAt));
};

describe("progressive playback", () => {
  it("plays an adaptive_video package in hls.js while the job is processing, then to its end", async () => {
    const created = await stack.api("/v1/jobs", { body: { input: originUrl, kind: "adaptive_video", options: { format: "hls" }, tags: ["e2e-progressive"] } });
    expect(created.status).toBe(201);
    const jobId = created.json.id as string;
    const watch = await watchJob(stack, jobId);

    const playable = await until("the playable Watch event", async () => watch.events.find((e) => e.event === "playable"), (e) => e !== undefined, 90_000);
    expect(playable!.job.status).toBe("processing");
    const masterUrl = playable!.job.outputs[0].output_url as string;
    expect(masterUrl).toBeTruthy();
    expect(playable!.job.outputs[0].playable_at).toBeTruthy();
    // The view says the same, and the first segment's length is the variant playlist's.
    const view = (await stack.api(`/v1/jobs/${jobId}`)).json;
    expect(view.status).toBe("processing");
    expect(view.outputs[0].output_url).toBeTruthy();
    const master = parsePlaylist((await download(masterUrl)).toString());
    const variant = parsePlaylist((await download(new URL(master.playlists[0].uri, masterUrl).toString())).toString());
    expect(variant.playlistType).toBe("EVENT");
    expect(variant.endList).toBeFalsy();
    const firstSegment = variant.segments[0].duration as number;
    expect(firstSegment).toBeGreaterThan(0);

    await page.setContent('<video id="v" muted playsinline></video>');
    await page.addScriptTag({ path: createRequire(import.meta.url).resolve("hls.js/dist/hls.min.js") });
    await page.evaluate((url) => {
      const video = document.getElementById("v");
      window.playerErrors = [];
      const hls = new Hls();
      hls.on(Hls.Events.ERROR, (_event: unknown, data: any) => {
        if (data.fatal) window.playerErrors.push(`${data.type}: ${data.details}`);
      });
      hls.loadSource(url);
      hls.attachMedia(video);
      void video.play().catch(() => undefined);
    }, masterUrl);

    // Past the first segment, with the input's tail still held: the job cannot have completed.
    await page.waitForFunction((past) => document.getElementById("v").currentTime > past || window.playerErrors.length > 0, firstSegment, { timeout: 60_000 });
    const during = await page.evaluate(() => ({ currentTime: document.getElementById("v").currentTime, errors: window.playerErrors }));
    expect(during.errors).toEqual([]);
    expect(during.currentTime).toBeGreaterThan(firstSegment);
    const meanwhile = (await stack.api(`/v1/jobs/${jobId}`)).json;
    expect(meanwhile.status).toBe("processing");
    expect(meanwhile.completed_at).toBeNull();

    release();
    const done = await jobWithStatus(stack, jobId, ["completed", "failed", "partial", "canceled"]);
    expect(done.status).toBe("completed");
    expect(done.outputs[0].playable_at).toBe(playable!.job.outputs[0].playable_at);
    // The player started on the growing playlist plays on to the end of the final one.
    await page.waitForFunction(() => document.getElementById("v").ended || window.playerErrors.length > 0, null, { timeout: 60_000 });
    const after = await page.evaluate(() => ({ currentTime: document.getElementById("v").currentTime, errors: window.playerErrors }));
    expect(after.errors).toEqual([]);
    expect(after.currentTime).toBeGreaterThan(SECONDS - 0.5);
    const final = parsePlaylist((await download(new URL(master.playlists[0].uri, done.outputs[0].output_url).toString())).toString());
    expect(final.playlistType).toBe("VOD");
    expect(final.endList).toBe(true);

    await watch.closed;
    const names = watch.events.map((e) => e.event);
    expect(names.filter((n) => n === "playable")).toHaveLength(1);
    expect(names.indexOf("playable")).toBeLessThan(names.indexOf("completed"));
    expect(pageErrors).toEqual([]);
  });
});
