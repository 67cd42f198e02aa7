import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { TranscodeOrderInput } from "../../encoder/contract";
import { signKeyUrl } from "../../worker/drm/key-url";
import { openDrmKey } from "../../worker/drm/keys";
import type { JobState } from "../../worker/jobs/job-state";
import { call, jobDO, seedOrg } from "./helpers";

const KEY = "00112233445566778899aabbccddeeff";
const KID = "0123456789abcdef0123456789abcdef";
const input = "https://media.example.com/in.mp4";
const h264 = [{ codec: "h264", height: 360 }];
const ordersFor = async (jobId: string) => (await (await fetch(`${env.ENCODER_URL}/orders/${jobId}`)).json()) as TranscodeOrderInput[];

function stateOf(jobId: string): Promise<JobState> {
  return runInDurableObject(jobDO(jobId), (_instance, state) => JSON.parse(state.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'").one().body) as JobState);
}

async function drmJob(key: string) {
  const created = await call("/v1/jobs", {
    key,
    body: {
      input,
      outputs: [
        { type: "hls", video: h264, drm: { scheme: "aes-128" } },
        { type: "dash", video: h264, drm: { scheme: "cenc", key_id: KID, key: KEY } },
        { type: "adaptive", video: h264, drm: { scheme: "cenc" } },
        { type: "mp4", video: h264 },
      ],
    },
  });
  expect(created.status).toBe(201);
  return created.json;
}

const b64url = (hex: string) => btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => parseInt(h, 16)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

describe("drm: validation", () => {
  it.each([
    ["a file output", { type: "mp4", video: h264, drm: { scheme: "aes-128" } }, "outputs.0.drm", "validation_error"],
    ["aes-128 on dash", { type: "dash", video: h264, drm: { scheme: "aes-128" } }, "outputs.0.drm.scheme", "invalid_drm"],
    ["aes-128 on adaptive (CMAF takes CENC only)", { type: "adaptive", video: h264, drm: { scheme: "aes-128" } }, "outputs.0.drm.scheme", "invalid_drm"],
    ["aes-128 with fMP4 segments", { type: "hls", video: h264, hls: { segment_type: "fmp4" }, drm: { scheme: "aes-128" } }, "outputs.0.hls.segment_type", "invalid_drm"],
    ["aes-128 with av1 (TS cannot carry it)", { type: "hls", video: [{ codec: "av1" }], drm: { scheme: "aes-128" } }, "outputs.0.video.0.codec", "invalid_codec"],
    ["cenc on hls", { type: "hls", video: h264, drm: { scheme: "cenc" } }, "outputs.0.drm.scheme", "invalid_drm"],
    ["cenc with the on-demand profile", { type: "dash", video: h264, dash: { profile: "on-demand" }, drm: { scheme: "cenc" } }, "outputs.0.dash.profile", "invalid_drm"],
    ["cenc with vp9", { type: "dash", video: [{ codec: "vp9" }], drm: { scheme: "cenc" } }, "outputs.0.video.0.codec", "invalid_drm"],
    ["an unknown scheme", { type: "hls", video: h264, drm: { scheme: "fairplay" } }, "outputs.0.drm.scheme", "validation_error"],
    ["a short key", { type: "dash", video: h264, drm: { scheme: "cenc", key: "abcd" } }, "outputs.0.drm.key", "validation_error"],
    ["a non-hex key id", { type: "dash", video: h264, drm: { scheme: "cenc", key_id: "z".repeat(32) } }, "outputs.0.drm.key_id", "validation_error"],
    ["a key for aes-128 (always generated)", { type: "hls", video: h264, drm: { scheme: "aes-128", key: KEY } }, "outputs.0.drm", "validation_error"],
  ])("refuses %s", async (_label, output, path, code) => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: { input, outputs: [output] } });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
  });
});

describe("drm: presets", () => {
  it("refuses a preset holding a content key (presets are stored and shown in clear), and takes one without", async () => {
    const { key } = await seedOrg();
    const refused = await call("/v1/presets", { key, body: { slug: "drm_keyed", output: { type: "dash", video: h264, drm: { scheme: "cenc", key: KEY } } } });
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe("invalid_drm");
    expect(refused.text).not.toContain(KEY);
    const taken = await call("/v1/presets", { key, body: { slug: "drm_cenc", output: { type: "dash", video: h264, drm: { scheme: "cenc" } } } });
    expect(taken.status).toBe(201);
    const job = await call("/v1/jobs", { key, body: { input, outputs: [{ preset: "drm_cenc" }] } });
    expect(job.status).toBe(201);
    expect(job.json.outputs[0].drm).toMatchObject({ scheme: "cenc", key_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });
});

describe("drm: keys", () => {
  it("keeps keys out of the spec, the view and the list; seals them per output; shows the key id and a signed key URL", async () => {
    const { key, orgId } = await seedOrg();
    const job = await drmJob(key);
    const [hls, dash, adaptive, mp4] = job.outputs;
    expect(hls.drm).toMatchObject({ scheme: "aes-128", key_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(dash.drm).toMatchObject({ scheme: "cenc", key_id: KID });
    expect(adaptive.drm.key_id).not.toBe(hls.drm.key_id);
    expect(mp4.drm).toBeNull();
    expect(dash.spec.drm).toEqual({ scheme: "cenc", key_id: KID });
    expect(dash.drm.key_url).toMatch(new RegExp(`/v1/jobs/${job.id}/outputs/${dash.id}/key\\?expires=\\d+&sig=`));

    const state = await stateOf(job.id);
    const everything = [JSON.stringify(job), JSON.stringify((await call(`/v1/jobs/${job.id}`, { key })).json), (await call("/v1/jobs", { key })).text, JSON.stringify(state.spec), JSON.stringify(state.outputs)];
    for (const text of everything) expect(text).not.toContain(KEY);
    // At rest: sealed, bound to this org, job and output, under a label of its own.
    expect(JSON.stringify(state.drm_keys)).not.toContain(KEY);
    const sealed = state.drm_keys!.find((k) => k.output_id === dash.id)!;
    expect((await openDrmKey(env, { orgId, jobId: job.id }, sealed)).key).toBe(KEY);
    await expect(openDrmKey(env, { orgId, jobId: job.id }, { ...sealed, output_id: hls.id })).rejects.toThrow();
    await expect(openDrmKey(env, { orgId: "org_other", jobId: job.id }, sealed)).rejects.toThrow();
  });

  it("gives the encoder the keys and Kiln's key route, and TS segments for aes-128", async () => {
    const { key } = await seedOrg();
    const job = await drmJob(key);
    await vi.waitFor(async () => expect(await ordersFor(job.id)).toHaveLength(1), { timeout: 5000, interval: 50 });
    const [order] = await ordersFor(job.id);
    const specs = order!.tasks.map((t) => t.spec) as Extract<TranscodeOrderInput["tasks"][number]["spec"], { kind: "output" }>[];
    const route = (i: number) => `${env.PUBLIC_URL.replace(/\/+$/, "")}/v1/jobs/${job.id}/outputs/${job.outputs[i].id}/key`;
    expect(specs[0]).toMatchObject({ type: "hls", hls: { segment_type: "ts" }, drm: { scheme: "aes-128", key_uri: route(0), key: expect.stringMatching(/^[0-9a-f]{32}$/) } });
    expect(specs[1]).toMatchObject({ type: "dash", drm: { scheme: "cenc", key: KEY, key_id: KID, license_url: route(1) } });
    expect(specs[3]!.drm).toBeUndefined();
  });
});

describe("drm: key route", () => {
  it("serves the AES-128 key bytes and the ClearKey license to the signed URL and to the org's API key", async () => {
    const { key, orgId } = await seedOrg();
    const job = await drmJob(key);
    const [hls, dash] = job.outputs;
    const signedPath = (url: string) => url.slice(url.indexOf("/v1/"));

    const raw = await exports.default.fetch(new Request(`https://kiln.test${signedPath(hls.drm.key_url)}`));
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toBe("application/octet-stream");
    expect(raw.headers.get("cache-control")).toBe("no-store");
    const bytes = [...new Uint8Array(await raw.arrayBuffer())].map((b) => b.toString(16).padStart(2, "0")).join("");
    const sealed = (await stateOf(job.id)).drm_keys!.find((k) => k.output_id === hls.id)!;
    expect(bytes).toBe((await openDrmKey(env, { orgId, jobId: job.id }, sealed)).key);

    const license = await call(signedPath(dash.drm.key_url));
    expect(license.status).toBe(200);
    expect(license.json).toEqual({ keys: [{ kty: "oct", kid: b64url(KID), k: b64url(KEY) }], type: "temporary" });
    // EME posts its license request; the answer is the same.
    const posted = await call(signedPath(dash.drm.key_url), { method: "POST", body: { kids: [b64url(KID)], type: "temporary" } });
    expect(posted.json).toEqual(license.json);

    const withApiKey = await call(`/v1/jobs/${job.id}/outputs/${dash.id}/key`, { key });
    expect(withApiKey.json).toEqual(license.json);
  });

  it("answers 401 without credentials, 403 for a tampered or expired signature, 404 for another org, an unknown output or one without drm", async () => {
    const { key } = await seedOrg();
    const other = await seedOrg();
    const job = await drmJob(key);
    const [hls, , , mp4] = job.outputs;
    const path = `/v1/jobs/${job.id}/outputs/${hls.id}/key`;
    const signed = hls.drm.key_url.slice(hls.drm.key_url.indexOf("/v1/"));

    expect((await call(path)).status).toBe(401);
    const tampered = await call(signed.replace(/sig=./, (m: string) => (m.endsWith("A") ? "sig=B" : "sig=A")));
    expect(tampered.status).toBe(403);
    expect(tampered.json.error.code).toBe("signature_invalid");
    const moved = await call(signed.replace(/expires=(\d+)/, (_m: string, e: string) => `expires=${Number(e) + 60}`));
    expect(moved.json.error.code).toBe("signature_invalid");
    // Signed for one output, it does not open another.
    const otherOutput = await call(signed.replace(hls.id, job.outputs[1].id));
    expect(otherOutput.json.error.code).toBe("signature_invalid");
    const expired = await signKeyUrl(env, "https://kiln.test", job.id, hls.id, 60, Date.now() - 3600_000);
    const late = await call(expired.slice(expired.indexOf("/v1/")));
    expect(late.status).toBe(403);
    expect(late.json.error.code).toBe("signature_expired");

    const foreign = await call(path, { key: other.key });
    expect(foreign.status).toBe(404);
    expect(foreign.text).not.toContain(KEY);
    expect((await call(`/v1/jobs/${job.id}/outputs/${mp4.id}/key`, { key })).status).toBe(404);
    expect((await call(`/v1/jobs/${job.id}/outputs/out_nope/key`, { key })).status).toBe(404);
  });
});
