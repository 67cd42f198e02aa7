import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { builtInPresets } from "../../worker/jobs/presets";
import { call, seedOrg } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * Transcodely's PresetService (worker/dialects/transcodely/preset-service.ts) against the
 * real Worker and D1: a Transcodely Preset is stored as a Kiln preset (an output spec),
 * read back as a Preset, and named by a job's output like any Kiln preset.
 */

const rpc = (method: string, key: string | null, body: unknown, headers: Record<string, string> = {}) =>
  call(`/transcodely.v1.PresetService/${method}`, { key, body, headers });

const PRESET_KEYS = [
  "id",
  "app_id",
  "slug",
  "name",
  "description",
  "content_type",
  "container",
  "faststart",
  "delivery_format",
  "segment_duration",
  "video",
  "audio",
  "quality_tier",
  "estimated_cost_per_minute",
  "system_preset",
  "created_at",
  "updated_at",
  "variants",
  "disable_audio",
];

/** VideoSettings with nothing set beyond `fields`. */
const videoSettings = (fields: Record<string, unknown>) => ({
  codec: "unspecified",
  resolution: "unspecified",
  width: null,
  height: null,
  framerate: null,
  bitrate_mode: "crf",
  crf: null,
  bitrate_kbps: null,
  max_bitrate_kbps: null,
  buffer_size_kbps: null,
  profile: null,
  level: null,
  encoder_preset: null,
  tune: null,
  keyint: null,
  min_keyint: null,
  bframes: null,
  refs: null,
  rc_lookahead: null,
  aq_mode: null,
  aq_strength: null,
  psy_rd: null,
  deblock: null,
  ...fields,
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const webPreset = (slug: string) => ({
  slug,
  name: "Web 720p",
  description: "Our web default",
  container: "CONTAINER_MP4",
  delivery_format: "progressive",
  video: { codec: "VIDEO_CODEC_H264", resolution: "RESOLUTION_720P", crf: 23, encoderPreset: "fast", profile: "high", tune: "film", framerate: 0 },
  audio: { codec: "aac", bitrate_kbps: 128, sample_rate: 0, channels: 2 },
  quality_tier: "QUALITY_TIER_STANDARD",
});

const ladderPreset = (slug: string) => ({
  slug,
  name: "HLS ladder",
  container: "ts",
  delivery_format: "hls",
  segment_duration: 4,
  video: { codec: "h264", bitrate_mode: "vbr", encoder_preset: "veryfast" },
  audio: { codec: "aac", bitrate_kbps: 96 },
  quality_tier: "economy",
  variants: [
    { resolution: "720p", bitrate_kbps: 2500 },
    { width: 640, height: 360, bitrate_kbps: 800, quality: "premium" },
  ],
});

function violations(json: any): { field: string; description: string }[] {
  expect(json.code).toBe("invalid_argument");
  expect(json.details[0].type).toBe("transcodely.v1.ErrorDetails");
  return json.details[0].debug.field_violations;
}

describe("PresetService.Create", () => {
  it("stores a progressive preset as a Kiln preset and answers the whole Preset", async () => {
    const { key } = await seedOrg();
    const res = await rpc("Create", key, webPreset("web_720p"));
    expect(res.status, res.text).toBe(200);
    const { preset } = res.json;
    expect(Object.keys(res.json)).toEqual(["preset"]);
    expect(Object.keys(preset)).toEqual(PRESET_KEYS);
    expect(preset).toEqual({
      id: expect.stringMatching(/^pst_[a-z0-9]{20}$/),
      app_id: "",
      slug: "web_720p",
      name: "Web 720p",
      description: "Our web default",
      content_type: "unspecified",
      container: "mp4",
      faststart: true,
      delivery_format: "progressive",
      segment_duration: null,
      video: videoSettings({ codec: "h264", resolution: "720p", framerate: 0, crf: 23, profile: "high", encoder_preset: "fast", tune: "film" }),
      audio: { codec: "aac", bitrate_kbps: 128, sample_rate: null, channels: 2, normalize: null },
      quality_tier: "standard",
      estimated_cost_per_minute: null,
      system_preset: false,
      created_at: expect.stringMatching(RFC3339),
      updated_at: preset.created_at,
      variants: [],
      disable_audio: false,
    });
    // The same preset through /v1: an output spec a job's output merges.
    const native = await call(`/v1/presets/${preset.id}`, { key });
    expect(native.json).toMatchObject({
      id: preset.id,
      slug: "web_720p",
      output: {
        type: "mp4",
        video: [{ codec: "h264", resolution: "720p", framerate: 0, quality: "standard", h264: { crf: 23, preset: "fast", profile: "high", tune: "film" } }],
        audio: [{ codec: "aac", bitrate: 128, channels: 2 }],
      },
    });
  });

  it("stores an HLS ladder: shared settings under each variant's own", async () => {
    const { key } = await seedOrg();
    const res = await rpc("Create", key, ladderPreset("hls_two"));
    expect(res.status, res.text).toBe(200);
    expect(res.json.preset).toMatchObject({
      container: "ts",
      faststart: false,
      delivery_format: "hls",
      segment_duration: 4,
      quality_tier: "economy",
      video: videoSettings({ codec: "h264", encoder_preset: "veryfast" }),
      variants: [
        { resolution: "720p", width: null, height: null, bitrate_kbps: 2500, max_bitrate_kbps: null, buffer_size_kbps: null, crf: null, quality: "economy", framerate: null },
        { resolution: "unspecified", width: 640, height: 360, bitrate_kbps: 800, max_bitrate_kbps: null, buffer_size_kbps: null, crf: null, quality: "premium", framerate: null },
      ],
    });
    const native = await call(`/v1/presets/hls_two`, { key });
    expect(native.json.output).toEqual({
      type: "hls",
      video: [
        { codec: "h264", resolution: "720p", bitrate: 2500, quality: "economy", h264: { preset: "veryfast" } },
        { codec: "h264", width: 640, height: 360, bitrate: 800, quality: "premium", h264: { preset: "veryfast" } },
      ],
      audio: [{ codec: "aac", bitrate: 96 }],
      hls: { segment_type: "ts" },
      segments: { duration: 4 },
    });
  });

  it("reports every problem at its request field, Kiln's output rules included", async () => {
    const { key } = await seedOrg();
    const res = await rpc("Create", key, {
      slug: "web_720p_standard",
      name: "clash",
      content_type: "film",
      container: "webm",
      faststart: false,
      video: { codec: "h264", crf: 70, keyint: 48, bitrate_mode: "cbr", bitrate_kbps: 3000, level: "4.1" },
      audio: { codec: "aac", normalize: true },
      variants: [{ resolution: "480p" }],
      disable_audio: true,
    });
    expect(res.status).toBe(400);
    const fields = violations(res.json).map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        "slug",
        "content_type",
        "disable_audio",
        "audio.normalize",
        "video.bitrate_mode",
        "video.keyint",
        "video.level",
        "variants",
        "video.codec",
        "video.crf",
        "audio.codec",
      ]),
    );
    // webm holds no h264; faststart only matters for mp4 and mov.
    expect(violations(res.json).find((v) => v.field === "video.codec")?.description).toContain("webm");
    expect(fields).not.toContain("faststart");

    const shapes = await rpc("Create", key, { slug: "ab", name: "", container: "ts", delivery_format: "cmaf", video: { codec: "VIDEO_CODEC_NOPE" } });
    expect(violations(shapes.json).map((v) => v.field)).toEqual(expect.arrayContaining(["slug", "name", "video.codec"]));
    const cmaf = await rpc("Create", key, { slug: "cmaf_ts", name: "x", container: "ts", delivery_format: "cmaf", video: { codec: "h264" } });
    expect(violations(cmaf.json)).toEqual([{ field: "container", description: "cmaf segments are mp4 (fMP4)" }]);
    const mp4 = await rpc("Create", key, { slug: "slow_mp4", name: "x", container: "mp4", faststart: false, video: { codec: "h264" } });
    expect(violations(mp4.json)).toEqual([{ field: "faststart", description: expect.stringContaining("index first") }]);
  });

  it("answers already_exists for a slug the organization has, not for another organization's", async () => {
    const { key } = await seedOrg();
    expect((await rpc("Create", key, webPreset("taken"))).status).toBe(200);
    const again = await rpc("Create", key, webPreset("taken"));
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: "already_exists", details: [{ debug: { code: "preset_exists" } }] });
    const other = await seedOrg();
    expect((await rpc("Create", other.key, webPreset("taken"))).status).toBe(200);
  });
});

describe("PresetService reads", () => {
  it("Get, GetBySlug (own and system), List with system presets after the organization's, filters and pages", async () => {
    const { key } = await seedOrg();
    const web = (await rpc("Create", key, webPreset("web_720p"))).json.preset;
    const ladder = (await rpc("Create", key, ladderPreset("hls_two"))).json.preset;

    expect((await rpc("Get", key, { id: web.id })).json).toEqual({ preset: web });
    expect((await rpc("GetBySlug", key, { slug: "hls_two" })).json).toEqual({ preset: ladder });
    const system = await rpc("GetBySlug", key, { slug: "web_1080p_standard" });
    expect(system.json.preset).toMatchObject({
      id: "",
      slug: "web_1080p_standard",
      system_preset: true,
      container: "mp4",
      delivery_format: "progressive",
      quality_tier: "standard",
      created_at: null,
      video: { codec: "h264", resolution: "1080p" },
      audio: { codec: "aac", bitrate_kbps: 128 },
    });

    const systemSlugs = Object.keys(builtInPresets);
    const all = await rpc("List", key, {});
    expect(all.json.presets.map((p: any) => p.slug)).toEqual(["hls_two", "web_720p", ...systemSlugs]);
    expect(all.json.pagination).toEqual({ next_cursor: "", total_count: null });
    expect((await rpc("List", key, { include_system: false })).json.presets).toEqual([ladder, web]);
    expect((await rpc("List", key, { delivery_format: "DELIVERY_FORMAT_HLS" })).json.presets.map((p: any) => p.slug)).toEqual(["hls_two", "hls_ladder_standard"]);
    expect((await rpc("List", key, { video_codec: "vp9" })).json.presets.map((p: any) => p.slug)).toEqual(["webm_720p_standard"]);
    expect((await rpc("List", key, { quality_tier: "economy", includeSystem: false })).json.presets.map((p: any) => p.slug)).toEqual(["hls_two"]);
    expect((await rpc("List", key, { content_type: "film" })).json.presets).toEqual([]);

    // Pages run through the organization's presets, then the system ones, never skipping or repeating.
    const seen: string[] = [];
    let cursor = "";
    for (let page = 0; page < 10; page++) {
      const res = await rpc("List", key, { pagination: { limit: 3, cursor } });
      expect(res.status, res.text).toBe(200);
      expect(res.json.presets.length).toBeLessThanOrEqual(3);
      seen.push(...res.json.presets.map((p: any) => p.slug));
      cursor = res.json.pagination.next_cursor;
      if (cursor === "") break;
    }
    expect(seen).toEqual(["hls_two", "web_720p", ...systemSlugs]);
    expect((await rpc("List", key, { pagination: { cursor: "builtin:x" } })).json.code).toBe("invalid_argument");
  });

  it("Duplicate copies under a new slug; Archive deletes; Update is unimplemented", async () => {
    const { key } = await seedOrg();
    const web = (await rpc("Create", key, webPreset("web_720p"))).json.preset;
    const copy = await rpc("Duplicate", key, { source_id: web.id, slug: "web_720p_copy", name: "Copy" });
    expect(copy.status, copy.text).toBe(200);
    expect(copy.json.preset).toEqual({ ...web, id: expect.stringMatching(/^pst_/), slug: "web_720p_copy", name: "Copy", created_at: expect.stringMatching(RFC3339), updated_at: expect.stringMatching(RFC3339) });
    expect(copy.json.preset.id).not.toBe(web.id);
    expect((await rpc("Duplicate", key, { source_id: web.id, slug: "web_720p", name: "Again" })).json.code).toBe("already_exists");
    expect(violations((await rpc("Duplicate", key, { source_id: web.id, slug: "web_480p_economy", name: "Built-in" })).json)).toEqual([
      { field: "slug", description: "web_480p_economy is a built-in preset's slug" },
    ]);

    const archived = await rpc("Archive", key, { id: web.id });
    expect(archived.json).toEqual({ preset: web });
    expect((await rpc("Get", key, { id: web.id })).status).toBe(404);
    expect((await rpc("GetBySlug", key, { slug: "web_720p" })).json.code).toBe("not_found");
    expect((await call(`/v1/presets/${web.id}`, { key })).status).toBe(404);
    expect((await rpc("Get", key, { id: copy.json.preset.id })).status).toBe(200);

    const update = await rpc("Update", key, { id: copy.json.preset.id, name: "x" });
    expect(update.status).toBe(501);
    expect(update.json).toMatchObject({ code: "unimplemented", message: expect.stringContaining("Duplicate") });
  });

  it("hides another organization's presets and refuses a missing key", async () => {
    const owner = await seedOrg();
    const other = await seedOrg();
    const web = (await rpc("Create", owner.key, webPreset("private_one"))).json.preset;
    for (const [method, body] of [
      ["Get", { id: web.id }],
      ["GetBySlug", { slug: "private_one" }],
      ["Archive", { id: web.id }],
      ["Duplicate", { source_id: web.id, slug: "stolen", name: "x" }],
    ] as const) {
      const res = await rpc(method, other.key, body);
      expect(res.status, method).toBe(404);
      expect(res.json.code).toBe("not_found");
    }
    expect((await rpc("List", other.key, { include_system: false })).json.presets).toEqual([]);
    expect((await rpc("Get", owner.key, { id: web.id })).status).toBe(200);

    const anonymous = await rpc("List", null, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.code).toBe("unauthenticated");
    expect(violations((await rpc("Get", owner.key, { id: "private_one" })).json)).toEqual([{ field: "id", description: "a preset id (pst_…)" }]);
  });
});

describe("a Transcodely user sets up a job without /v1", () => {
  it("creates an origin and a preset, then a job whose output names the preset", async () => {
    const { key } = await seedOrg();
    const S3 = env.TEST_ONLY_ALLOWED_S3_ENDPOINT!;
    const bucket = `kiln-tc-${crypto.randomUUID().slice(0, 8)}`;
    const s3 = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });
    expect((await s3.fetch(`${S3}/${bucket}`, { method: "PUT" })).status).toBe(200);
    const origin = await call("/transcodely.v1.OriginService/Create", {
      key,
      body: { name: "out", permissions: ["write"], s3: { bucket, region: "us-east-1", endpoint: S3, credentials: S3_TEST_CREDENTIALS } },
    });
    expect(origin.status, origin.text).toBe(200);
    expect((await rpc("Create", key, webPreset("web_720p"))).status).toBe(200);

    const job = await call("/transcodely.v1.JobService/Create", {
      key,
      body: { input_url: "https://media.example.com/in.mp4", output_origin_id: origin.json.origin.id, outputs: [{ preset: "web_720p" }] },
    });
    expect(job.status, job.text).toBe(200);
    expect(job.json.job.output_origin).toMatchObject({ id: origin.json.origin.id, bucket, provider: "s3" });
    const native = await call(`/v1/jobs/${job.json.job.id}`, { key });
    expect(native.json.outputs[0].spec).toMatchObject({ preset: "web_720p", type: "mp4", video: [{ codec: "h264", resolution: "720p", quality: "standard" }] });
  });
});
