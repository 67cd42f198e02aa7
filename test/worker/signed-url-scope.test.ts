import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../../worker/bytes";
import { hmacKey, signingSecret } from "../../worker/storage/hmac";
import { call, seedOrg } from "./helpers";
import { finishJob } from "./finished-job";

/**
 * What a completed job's signed URLs reach: each its own output's files and nothing
 * else of the job (issue 17, fix 1). Paths are swapped the way a holder of one URL
 * would try: to another output's file, another output's package, another job.
 */

const h264 = [{ codec: "h264", resolution: "480p" }];
const body = {
  input: "https://media.example.com/in.mp4",
  outputs: [
    { type: "mp4", video: h264 },
    { type: "hls", video: h264 },
    { type: "dash", video: h264, drm: { scheme: "cenc" } },
  ],
  thumbnails: [{ format: "jpeg", count: 3 }, { count: 4, sprite: true, width: 160 }],
};

const get = async (url: string) => {
  const res = await exports.default.fetch(new Request(url));
  await res.arrayBuffer();
  return res.status;
};

/** Swaps the part of a URL's path after the job's folder for `rest`, keeping the signature segments. */
function swapped(url: string, jobId: string, rest: string): string {
  const u = new URL(url);
  const at = u.pathname.indexOf(`/jobs/${jobId}/`) + `/jobs/${jobId}/`.length;
  u.pathname = u.pathname.slice(0, at) + rest;
  return u.toString();
}

async function completedJob(key: string) {
  const created = await call("/v1/jobs", { key, body });
  expect(created.status, created.text).toBe(201);
  const job = created.json;
  await finishJob(job.id, (out, kind) => {
    if (kind === "thumbnail") return out === job.outputs[4].id ? `${out}.storyboard.vtt` : `${out}.001.jpg`;
    if (kind === "hls") return `${out}/master.m3u8`;
    if (kind === "dash") return `${out}/manifest.mpd`;
    return `${out}.mp4`;
  });
  const view = (await call(`/v1/jobs/${job.id}`, { key })).json;
  expect(view.status).toBe("completed");
  const [mp4, hls, dash, stills, storyboard] = view.outputs as { id: string; output_url: string; drm?: { key_url: string } }[];
  const files: Record<string, string> = {
    mp4: `${mp4!.id}.mp4`,
    hls: `${hls!.id}/master.m3u8`,
    hlsVariant: `${hls!.id}/v0/index.m3u8`,
    hlsSegment: `${hls!.id}/v0/seg_001.ts`,
    dash: `${dash!.id}/manifest.mpd`,
    still1: `${stills!.id}.001.jpg`,
    still2: `${stills!.id}.002.jpg`,
    storyboard: `${storyboard!.id}.storyboard.vtt`,
    sprite: `${storyboard!.id}.sprite.jpg`,
  };
  for (const file of Object.values(files)) await env.MEDIA.put(`jobs/${job.id}/${file}`, "bytes");
  return { id: job.id as string, mp4: mp4!, hls: hls!, dash: dash!, stills: stills!, storyboard: storyboard!, files };
}

describe("signed output URLs reach their own output only", () => {
  it("scopes thumbnails, storyboards, packages and files, and refuses every swap to another output", async () => {
    const { key } = await seedOrg();
    const job = await completedJob(key);
    const other = await completedJob(key);
    const f = job.files;
    // Each URL, what it must still reach, and what it must not.
    const cases: { name: string; url: string; reaches: string[]; refuses: string[] }[] = [
      { name: "thumbnail", url: job.stills.output_url, reaches: [f.still1!, f.still2!], refuses: [f.mp4!, f.hls!, f.hlsSegment!, f.dash!, f.storyboard!, f.sprite!] },
      { name: "storyboard", url: job.storyboard.output_url, reaches: [f.storyboard!, f.sprite!], refuses: [f.mp4!, f.hls!, f.still1!, f.dash!] },
      { name: "hls", url: job.hls.output_url, reaches: [f.hls!, f.hlsVariant!, f.hlsSegment!], refuses: [f.mp4!, f.still1!, f.dash!, f.sprite!] },
      { name: "dash", url: job.dash.output_url, reaches: [f.dash!], refuses: [f.mp4!, f.hls!, f.hlsSegment!, f.still1!] },
      { name: "mp4", url: job.mp4.output_url, reaches: [f.mp4!], refuses: [f.hls!, f.still1!, f.dash!] },
    ];
    let refused = 0;
    for (const c of cases) {
      for (const file of c.reaches) expect(await get(swapped(c.url, job.id, file)), `${c.name} → ${file}`).toBe(200);
      for (const file of c.refuses) {
        expect(await get(swapped(c.url, job.id, file)), `${c.name} → ${file}`).toBe(403);
        refused++;
      }
      // Relative resolution out of the signed folder, and the same path in another job.
      expect(await get(new URL(`../${f.mp4}`, c.url).toString()), `${c.name} → ../`).toBe(403);
      const inOther = new URL(c.url);
      inOther.pathname = inOther.pathname.replace(`/jobs/${job.id}/`, `/jobs/${other.id}/`);
      expect(await get(inOther.toString()), `${c.name} → other job`).toBe(403);
      refused += 2;
    }
    // A player resolves the variant and its segments relative to the master.
    const variant = new URL("v0/index.m3u8", job.hls.output_url);
    expect(await get(variant.toString())).toBe(200);
    expect(await get(new URL("seg_001.ts", variant).toString())).toBe(200);
    expect(await get(new URL(f.sprite!.slice(f.sprite!.indexOf("/") + 1), job.storyboard.output_url).toString())).toBe(200);

    // The DRM key URL names one job's output: carried to another output or job it is refused.
    const keyUrl = new URL(job.dash.drm!.key_url);
    expect(await get(keyUrl.toString())).toBe(200);
    for (const [from, to] of [[job.dash.id, job.hls.id], [job.id, other.id]] as const) {
      const moved = new URL(keyUrl);
      moved.pathname = moved.pathname.replace(from, to);
      expect(await get(moved.toString()), `key url → ${to}`).toBe(403);
      refused++;
    }
    console.log(`figures: signed-url scope ${refused} swapped URLs refused, ${cases.length} output URL kinds checked`);
  }, 30_000);

  it("signs a package for its one object when a path template puts another output in its folder", async () => {
    const { key } = await seedOrg();
    const created = await call("/v1/jobs", { key, body: { ...body, thumbnails: undefined, output_path_template: "{job_id}/" } });
    expect(created.status, created.text).toBe(201);
    await finishJob(created.json.id);
    const view = (await call(`/v1/jobs/${created.json.id}`, { key })).json;
    const [mp4, hls] = view.outputs as { id: string; output_url: string }[];
    // The package's files went to jobs/<job>/<job>/, beside the MP4: a folder URL would reach it.
    expect(new URL(hls!.output_url).pathname).toBe(`/storage/jobs/${view.id}/${view.id}/master.m3u8`);
    expect(new URL(mp4!.output_url).pathname).toBe(`/storage/jobs/${view.id}/${view.id}/${mp4!.id}.mp4`);
    await env.MEDIA.put(`jobs/${view.id}/${view.id}/${mp4!.id}.mp4`, "bytes");
    await env.MEDIA.put(`jobs/${view.id}/${view.id}/master.m3u8`, "bytes");
    expect(await get(hls!.output_url)).toBe(200);
    expect(await get(new URL(`${mp4!.id}.mp4${new URL(hls!.output_url).search}`, hls!.output_url).toString())).toBe(403);
  }, 30_000);

  it("refuses a prefix URL signed for a whole job's folder, as URLs were signed before", async () => {
    const { key } = await seedOrg();
    const job = await completedJob(key);
    const prefix = `jobs/${job.id}/`;
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const canonical = ["KILN-STORAGE-V1", "GET", "prefix", prefix, String(expires), "", ""].join("\n");
    const sig = toBase64Url(await crypto.subtle.sign("HMAC", await hmacKey(signingSecret(env)), new TextEncoder().encode(canonical)));
    const legacy = `${env.PUBLIC_URL.replace(/\/+$/, "")}/storage/p/${expires}/2/${sig}/jobs/${job.id}/${job.files.still1}`;
    expect(await get(legacy)).toBe(403);
    expect(await get(swapped(legacy, job.id, job.files.mp4!))).toBe(403);
  }, 30_000);
});
