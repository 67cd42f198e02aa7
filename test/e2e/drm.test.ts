import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { parseMpd } from "../encoder/packages";
import { bootStack, download, type E2EStack, encryptedPackagesJob, parsePlaylist, saveTemp, serveFiles, watchJob } from "./harness";

/**
 * Encrypted streaming outputs through the whole local stack: an AES-128 HLS package a
 * player decrypts with the key it fetches from the URI in the playlist (Kiln's key
 * route), and a CENC DASH package decrypted with the key of Kiln's ClearKey license.
 */

let stack: E2EStack;
let media: Awaited<ReturnType<typeof serveFiles>>;

beforeAll(async () => {
  stack = await bootStack();
  media = await serveFiles({ "clip.mp4": clipPath("landscape") });
});
afterAll(async () => {
  await media?.close();
  await stack?.stop();
});

/** Decodes every video frame; the count and whatever the decoder complained about. */
function decode(args: string[]): { frames: number; errors: string } {
  const run = spawnSync("ffmpeg", ["-v", "error", ...args, "-map", "0:v:0", "-f", "framemd5", "-"], { encoding: "utf8" });
  return { frames: run.stdout.split("\n").filter((l) => /^\d/.test(l)).length, errors: run.stderr + (run.status === 0 ? "" : `exit ${run.status}`) };
}

const fromBase64url = (text: string) => Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("hex");

describe("encrypted outputs through the whole local stack", () => {
  it("AES-128 HLS decrypted by ffmpeg with the key the playlist points at; CENC DASH decrypted with the ClearKey license's key", async () => {
    const created = await stack.api("/v1/jobs", {
      body: encryptedPackagesJob(media.url("clip.mp4")),
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const watch = await watchJob(stack, created.json.id);
    await watch.closed;
    const job = (await stack.api(`/v1/jobs/${created.json.id}`)).json;
    expect(job.outputs.map((o: any) => [o.type, o.status])).toEqual([
      ["hls", "completed"],
      ["dash", "completed"],
    ]);
    const [hls, dash] = job.outputs;
    expect(watch.events.every((e) => !JSON.stringify(e).includes('"key":'))).toBe(true);

    // --- HLS: the variant playlist names Kiln's key route ---
    const master = parsePlaylist((await download(hls.output_url)).toString());
    const variantUrl = new URL(master.playlists[0].uri, hls.output_url).toString();
    const variantText = (await download(variantUrl)).toString();
    const keyUri = /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/.exec(variantText)![1]!;
    expect(keyUri).toBe(`${stack.url}/v1/jobs/${job.id}/outputs/${hls.id}/key`);
    expect(parsePlaylist(variantText).segments[0].uri).toMatch(/\.ts$/);
    // Only with credentials: the org's API key, or the signed key_url of the job's view.
    expect((await fetch(keyUri)).status).toBe(401);
    const key = Buffer.from(await (await fetch(keyUri, { headers: { authorization: `Bearer ${stack.devKey}` } })).arrayBuffer());
    expect(key.length).toBe(16);
    expect(hls.drm).toMatchObject({ scheme: "aes-128", key_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(await download(hls.drm.key_url)).toEqual(key);
    const segment = saveTemp(await download(new URL(parsePlaylist(variantText).segments[0].uri, variantUrl).toString()), "seg.ts");
    expect(spawnSync("ffprobe", ["-v", "error", "-show_streams", segment]).status).not.toBe(0);
    // ffmpeg plays the signed playlist over HTTP and follows the key URI itself, with the API key.
    const played = decode(["-headers", `Authorization: Bearer ${stack.devKey}\r\n`, "-i", variantUrl]);
    expect(played.errors).toBe("");
    expect(played.frames).toBeGreaterThanOrEqual(70); // 3 s at 25 fps

    // --- DASH: ContentProtection in the MPD, the key from the ClearKey license ---
    const mpdText = (await download(dash.output_url)).toString();
    expect(mpdText).toContain(`cenc:default_KID="${dash.drm.key_id.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5")}"`);
    expect(mpdText).toContain(`${stack.url}/v1/jobs/${job.id}/outputs/${dash.id}/key`);
    const license = (await (await fetch(dash.drm.key_url)).json()) as { keys: { kid: string; k: string }[] };
    expect(license.keys).toHaveLength(1);
    expect(fromBase64url(license.keys[0]!.kid)).toBe(dash.drm.key_id);
    const contentKey = fromBase64url(license.keys[0]!.k);
    const video = parseMpd(mpdText).representations.find((r) => r.contentType === "video")!;
    const joined = saveTemp(Buffer.concat(await Promise.all(video.files.map((f) => download(new URL(f, dash.output_url).toString())))), "video.mp4");
    const decrypted = decode(["-decryption_key", contentKey, "-i", joined]);
    expect(decrypted.errors).toBe("");
    expect(decrypted.frames).toBeGreaterThanOrEqual(70);
    expect(decode(["-i", joined]).errors).not.toBe("");
    expect(decode(["-decryption_key", "00".repeat(16), "-i", joined]).errors).not.toBe("");
  }, 300_000);
});
