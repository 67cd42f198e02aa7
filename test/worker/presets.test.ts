import { beforeAll, describe, expect, it } from "vitest";
import { call, seedOrg } from "./helpers";

/** Organization presets: CRUD, isolation between organizations, and use from a job's outputs. */

const IN = "https://media.example.com/in.mp4";
const webm720 = { type: "webm", video: [{ codec: "vp9", resolution: "720p", quality: "economy" }], audio: [{ codec: "opus", bitrate: 64 }] };
const presetBody = (slug: string, output: Record<string, unknown> = webm720, extra: Record<string, unknown> = {}) => ({ slug, name: `Preset ${slug}`, output, ...extra });

let key: string;
let otherKey: string;
beforeAll(async () => {
  ({ key } = await seedOrg());
  ({ key: otherKey } = await seedOrg());
});

const create = (body: unknown, k = key) => call("/v1/presets", { key: k, body });

describe("presets CRUD", () => {
  it("creates, retrieves by id and by slug, lists and deletes a preset", async () => {
    const created = await create(presetBody("crud_webm", webm720, { description: "VP9 for the web" }));
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({
      object: "preset",
      slug: "crud_webm",
      name: "Preset crud_webm",
      description: "VP9 for the web",
      builtin: false,
      output: { type: "webm", video: [{ codec: "vp9", resolution: "720p" }] },
    });
    expect(created.json.id).toMatch(/^pst_[a-z0-9]{20}$/);

    expect((await call(`/v1/presets/${created.json.id}`, { key })).json).toEqual(created.json);
    expect((await call("/v1/presets/crud_webm", { key })).json).toEqual(created.json);
    const listed = await call("/v1/presets", { key });
    expect(listed.json.data.map((p: { id: string }) => p.id)).toContain(created.json.id);

    const deleted = await call(`/v1/presets/${created.json.id}`, { key, method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.json.id).toBe(created.json.id);
    expect((await call(`/v1/presets/${created.json.id}`, { key })).status).toBe(404);
    expect((await call(`/v1/presets/${created.json.id}`, { key, method: "DELETE" })).status).toBe(404);
  });

  it("names a preset by its slug when no name is given", async () => {
    const created = await create({ slug: "unnamed_preset", output: webm720 });
    expect(created.json).toMatchObject({ name: "unnamed_preset", description: null });
  });

  it("pages the organization's presets newest first without repeats", async () => {
    const { key: pager } = await seedOrg();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create(presetBody(`page_${i}`), pager)).json.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof call>> = await call(`/v1/presets?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { key: pager });
      expect(page.json.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.json.data.map((p: { id: string }) => p.id));
      cursor = page.json.next_cursor;
      expect(page.json.has_more).toBe(cursor !== null);
    } while (cursor);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen).toHaveLength(5);
  });

  it("lists and retrieves the built-in presets, which cannot be deleted", async () => {
    const builtin = await call("/v1/presets?scope=builtin", { key });
    const slugs = builtin.json.data.map((p: { slug: string }) => p.slug);
    expect(slugs).toEqual(expect.arrayContaining(["web_1080p_standard", "hls_ladder_standard"]));
    expect(builtin.json.data.every((p: { builtin: boolean; id: string | null }) => p.builtin && p.id === null)).toBe(true);
    const one = await call("/v1/presets/web_1080p_standard", { key });
    expect(one.json).toMatchObject({ id: null, builtin: true, output: { type: "mp4", video: [{ codec: "h264", resolution: "1080p" }] } });
    const refused = await call("/v1/presets/web_1080p_standard", { key, method: "DELETE" });
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe("validation_error");
    expect((await call("/v1/presets/web_1080p_standard", { key })).status).toBe(200);
  });
});

describe("preset isolation", () => {
  it("keeps another organization's preset invisible: get, delete and jobs all see nothing", async () => {
    const mine = (await create(presetBody("private_webm"))).json;
    expect((await call(`/v1/presets/${mine.id}`, { key: otherKey })).status).toBe(404);
    expect((await call("/v1/presets/private_webm", { key: otherKey })).status).toBe(404);
    expect((await call(`/v1/presets/${mine.id}`, { key: otherKey, method: "DELETE" })).status).toBe(404);
    expect((await call("/v1/presets", { key: otherKey })).json.data.map((p: { id: string }) => p.id)).not.toContain(mine.id);
    for (const ref of [mine.id, "private_webm"]) {
      const job = await call("/v1/jobs", { key: otherKey, body: { input: IN, outputs: [{ preset: ref }] } });
      expect(job.status).toBe(422);
      expect(job.json.error.code).toBe("preset_not_found");
    }
    // Still there for its owner.
    expect((await call(`/v1/presets/${mine.id}`, { key })).status).toBe(200);
  });

  it("lets two organizations use the same slug", async () => {
    expect((await create(presetBody("shared_slug"))).status).toBe(201);
    expect((await create(presetBody("shared_slug"), otherKey)).status).toBe(201);
  });

  it("refuses presets routes to a key without the presets actions", async () => {
    const { key: jobsOnly } = await seedOrg([{ effect: "allow", actions: ["jobs:*"], resources: ["*"] }]);
    for (const [method, path, body] of [
      ["POST", "/v1/presets", presetBody("nope")],
      ["GET", "/v1/presets", undefined],
      ["GET", "/v1/presets/web_1080p_standard", undefined],
      ["DELETE", "/v1/presets/pst_abc", undefined],
    ] as const) {
      const res = await call(path, { key: jobsOnly, method, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.error.code).toBe("forbidden");
    }
  });
});

describe("preset validation", () => {
  it("refuses a second preset with the same slug in one organization", async () => {
    expect((await create(presetBody("twice"))).status).toBe(201);
    const again = await create(presetBody("twice", { type: "mp4", video: [{ codec: "h264" }] }));
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("preset_exists");
  });

  it.each([
    { name: "a built-in slug", body: presetBody("web_1080p_standard"), code: "validation_error" },
    { name: "an uppercase slug", body: presetBody("Web720"), code: "validation_error" },
    { name: "a slug that looks like an id", body: presetBody("pst_abc"), code: "validation_error" },
    { name: "a 65-character slug", body: presetBody("a".repeat(65)), code: "validation_error" },
    { name: "no slug", body: { output: webm720 }, code: "validation_error" },
    { name: "no output", body: { slug: "no_output" }, code: "validation_error" },
    { name: "an output without video", body: presetBody("no_video", { type: "mp4" }), code: "validation_error" },
    { name: "an output naming another preset", body: presetBody("nested", { preset: "web_720p_standard" }), code: "validation_error" },
    { name: "h264 in webm", body: presetBody("bad_codec", { type: "webm", video: [{ codec: "h264" }] }), code: "invalid_codec" },
    { name: "an unknown output type", body: presetBody("bad_type", { type: "avi", video: [{ codec: "h264" }] }), code: "validation_error" },
    { name: "an unknown field", body: presetBody("extra", webm720, { colour: "red" }), code: "validation_error" },
    { name: "a 101-character name", body: presetBody("long_name", webm720, { name: "n".repeat(101) }), code: "validation_error" },
  ])("refuses $name with $code", async ({ body, code }) => {
    const res = await create(body);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe(code);
  });

  it("answers 404 for an id or slug that names no preset", async () => {
    for (const ref of ["pst_doesnotexist", "no_such_slug", "constructor", "__proto__"]) {
      const res = await call(`/v1/presets/${ref}`, { key });
      expect(res.status, ref).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
  });
});

describe("jobs naming an organization preset", () => {
  it("merges the preset by id and by slug, the output's own fields on top", async () => {
    const preset = (await create(presetBody("job_webm"))).json;
    const job = await call("/v1/jobs", {
      key,
      body: { input: IN, outputs: [{ preset: preset.id }, { preset: "job_webm", video: [{ codec: "av1", resolution: "480p" }] }] },
    });
    expect(job.status, job.text).toBe(201);
    expect(job.json.outputs[0].spec).toEqual({ preset: preset.id, ...webm720 });
    expect(job.json.outputs[1].spec).toEqual({ preset: "job_webm", type: "webm", video: [{ codec: "av1", resolution: "480p" }], audio: webm720.audio });
  });

  it("resolves a built-in slug when the organization has no preset of that name", async () => {
    const job = await call("/v1/jobs", { key, body: { input: IN, outputs: [{ preset: "web_720p_standard" }] } });
    expect(job.status).toBe(201);
    expect(job.json.outputs[0].spec).toMatchObject({ type: "mp4", video: [{ codec: "h264", resolution: "720p" }] });
  });

  it("checks the merged output: an override the preset's codec cannot take is invalid_codec", async () => {
    await create(presetBody("merge_check"));
    const job = await call("/v1/jobs", { key, body: { input: IN, outputs: [{ preset: "merge_check", type: "mp4" }] } });
    expect(job.status).toBe(400);
    expect(job.json.error.code).toBe("invalid_codec");
    expect(job.json.error.details.issues[0].path).toBe("outputs.0.video.0.codec");
  });

  it("refuses a deleted preset with 422 preset_not_found", async () => {
    const preset = (await create(presetBody("short_lived"))).json;
    await call(`/v1/presets/${preset.id}`, { key, method: "DELETE" });
    const job = await call("/v1/jobs", { key, body: { input: IN, outputs: [{ preset: preset.id }] } });
    expect(job.status).toBe(422);
    expect(job.json.error).toMatchObject({ code: "preset_not_found", details: { issues: [{ path: "outputs.0.preset" }] } });
  });
});
