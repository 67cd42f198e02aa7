import { describe, expect, it } from "vitest";
import type { BucketRef, JobStorage } from "../../worker/origins/buckets";
import { type PlacementJob, placeOutputFile } from "../../worker/jobs/output-placement";
import { outputTemplateValues, pathTemplateProblem, renderPathTemplate } from "../../worker/api/schemas/path-template";
import { parseInputUri, parseOutputUri } from "../../worker/origins/uri";

/** Pure rules: bucket URIs, path-template values and rendering, and where each exported file goes. */

const job = { id: "job_aaaaaaaaaaaaaaaaaaaa", created_at: "2026-03-09T23:59:59.000Z" };

describe("bucket URIs", () => {
  it("parses inputs with and without a secret", () => {
    expect(parseInputUri("s3://my-bucket/videos/in.mp4")).toEqual({ ok: true, uri: { scheme: "s3", secret: null, bucket: "my-bucket", key: "videos/in.mp4" } });
    expect(parseInputUri("gs://my_gcs.bucket/a b.mov")).toEqual({ ok: true, uri: { scheme: "gs", secret: null, bucket: "my_gcs.bucket", key: "a b.mov" } });
    expect(parseInputUri("s3://{acme-aws-keys}@acme/in/x.mov")).toEqual({ ok: true, uri: { scheme: "s3", secret: "acme-aws-keys", bucket: "acme", key: "in/x.mov" } });
  });

  it.each([
    ["no key", "s3://bucket"],
    ["an empty key", "s3://bucket/"],
    ["a folder", "s3://bucket/in/"],
    ["a .. segment", "s3://bucket/in/../x.mp4"],
    ["an empty segment", "s3://bucket/in//x.mp4"],
    ["a control character", "s3://bucket/in/\u0001.mp4"],
    ["an upper-case bucket", "s3://Bucket/x.mp4"],
    ["an s3 bucket with _", "s3://my_bucket/x.mp4"],
    ["a bucket like an IP address", "s3://10.0.0.1/x.mp4"],
    ["an empty secret", "s3://{}@bucket/x.mp4"],
    ["a secret with a space", "s3://{my keys}@bucket/x.mp4"],
    ["a secret over 64 characters", `s3://{${"k".repeat(65)}}@bucket/x.mp4`],
    ["an unknown scheme", "s4://bucket/x.mp4"],
    ["no bucket", "s3:///x.mp4"],
  ])("refuses an input with %s", (_label, uri) => {
    const parsed = parseInputUri(uri);
    expect(parsed.ok).toBe(false);
  });

  it("parses output folders, exact keys and templated folders", () => {
    expect(parseOutputUri("s3://bucket")).toMatchObject({ ok: true, uri: { key: "" } });
    expect(parseOutputUri("s3://bucket/out/")).toMatchObject({ ok: true, uri: { key: "out/" } });
    expect(parseOutputUri("s3://bucket/out/video.mp4")).toMatchObject({ ok: true, uri: { key: "out/video.mp4" } });
    expect(parseOutputUri("r2://{creds}@bucket/out/{job_id}/")).toMatchObject({ ok: true, uri: { scheme: "r2", secret: "creds", key: "out/{job_id}/" } });
  });

  it.each([
    ["an unknown variable", "s3://bucket/out/{name}/", /unknown variable \{name\}/],
    ["a .. segment", "s3://bucket/out/../x/", /\.\./],
    ["an empty segment", "s3://bucket/out//x/", /empty segment/],
    ["a leading slash", "s3://bucket//out/", /relative|empty segment/],
    ["an https URL", "https://bucket/out/", /not an s3/],
  ])("refuses an output with %s", (_label, uri, message) => {
    const parsed = parseOutputUri(uri);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(message);
  });
});

describe("path-template values", () => {
  it("takes a kind's options: format, codec, quality, WxH, the creation date", () => {
    const values = outputTemplateValues(job, { id: "out_1", type: "mp4", spec: { kind: "video", format: "mp4", codec: "h265", quality: "high", width: 1280, height: 720 } });
    expect(values).toEqual({ job_id: job.id, output_id: "out_1", date: "2026-03-09", format: "mp4", codec: "h265", resolution: "1280x720", quality: "high" });
  });

  it("takes an outputs[] spec's first variant, and its named resolution", () => {
    const values = outputTemplateValues(job, { id: "out_2", type: "hls", spec: { type: "hls", video: [{ codec: "h264", resolution: "720p", quality: "premium" }, { codec: "h264", resolution: "480p" }] } });
    expect(values).toMatchObject({ format: "hls", codec: "h264", resolution: "720p", quality: "premium" });
  });

  it("says what a side alone is, and uses the documented placeholders for what the output leaves open", () => {
    expect(outputTemplateValues(job, { id: "o", type: "mp4", spec: { format: "mp4", width: 640 } }).resolution).toBe("640w");
    expect(outputTemplateValues(job, { id: "o", type: "mp4", spec: { format: "mp4", height: 360 } }).resolution).toBe("360p");
    expect(outputTemplateValues(job, { id: "o", type: "mp4", spec: { format: "mp4", width: "50%" } }).resolution).toBe("50pctw");
    expect(outputTemplateValues(job, { id: "o", type: "mp3", spec: { kind: "audio", format: "mp3" } })).toMatchObject({ codec: "default", quality: "default", resolution: "source" });
    expect(outputTemplateValues(job, { id: "o", type: "thumbnail", spec: { format: "jpeg", width: 320 } })).toMatchObject({ format: "jpeg", resolution: "320w" });
  });

  it("renders every variable and leaves the rest as written", () => {
    const values = outputTemplateValues(job, { id: "out_1", type: "mp4", spec: { format: "mp4", codec: "h264" } });
    expect(renderPathTemplate("{date}/{job_id}/{output_id}_{codec}_{resolution}_{quality}.{format}", values)).toBe(
      `2026-03-09/${job.id}/out_1_h264_source_default.mp4`,
    );
    expect(renderPathTemplate("static/name.mp4", values)).toBe("static/name.mp4");
  });

  it.each([
    ["{filename}.mp4", /unknown variable/],
    ["/abs/{job_id}", /relative/],
    ["a/../b", /\.\./],
    ["a\tb", /control/],
  ])("refuses the template %j", (template, message) => {
    expect(pathTemplateProblem(template)).toMatch(message);
  });
});

describe("placeOutputFile", () => {
  const origin: BucketRef = { via: "origin", origin_id: "ori_1", scheme: "s3", bucket: "media", path: "videos" };
  const secret: BucketRef = { via: "secret", secret: "creds", scheme: "s3", bucket: "media" };
  const video = { id: "out_v", type: "mp4", spec: { kind: "video", format: "mp4", codec: "h264", width: 640, height: 360 } };
  const hls = { id: "out_h", type: "hls", spec: { kind: "adaptive_video", format: "hls" } };
  const make = (storage: Partial<JobStorage>, template: string | null = null, outputs: PlacementJob["outputs"] = [video, hls]): PlacementJob => ({
    ...job,
    spec: { output_path_template: template, storage: { input: null, output: null, ...storage } },
    outputs,
  });
  const place = (j: PlacementJob, outputId: string, path: string) => placeOutputFile(j, outputId, path);

  it("keeps managed outputs at jobs/<job_id>/<file> without a template", () => {
    expect(place(make({}), "out_v", "out_v.mp4")).toEqual({ ok: true, placement: { store: "managed", key: `jobs/${job.id}/out_v.mp4` } });
    expect(place(make({}), "out_h", "out_h/v0/seg_001.m4s")).toEqual({ ok: true, placement: { store: "managed", key: `jobs/${job.id}/out_h/v0/seg_001.m4s` } });
  });

  it("applies a template under the job's own prefix in managed storage", () => {
    const j = make({}, "{date}/{resolution}.{format}");
    expect(place(j, "out_v", "out_v.mp4")).toEqual({ ok: true, placement: { store: "managed", key: `jobs/${job.id}/2026-03-09/640x360.mp4` } });
    // A package's files go under the rendered name, as a folder.
    expect(place(j, "out_h", "out_h/master.m3u8")).toEqual({ ok: true, placement: { store: "managed", key: `jobs/${job.id}/2026-03-09/source.hls/master.m3u8` } });
  });

  it("keeps the file's name in a template that ends in /", () => {
    expect(place(make({}, "by-date/{date}/"), "out_v", "out_v.mp4")).toMatchObject({ placement: { key: `jobs/${job.id}/by-date/2026-03-09/out_v.mp4` } });
  });

  it("writes into a bucket folder, rendering the folder's own variables", () => {
    const j = make({ output: { bucket: secret, key: "out/{job_id}/" } });
    expect(place(j, "out_v", "out_v.mp4")).toEqual({ ok: true, placement: { store: "bucket", bucket: secret, key: `out/${job.id}/out_v.mp4` } });
    expect(place(j, "out_h", "out_h/v1/index.m3u8")).toMatchObject({ placement: { key: `out/${job.id}/out_h/v1/index.m3u8` } });
  });

  it("puts an origin folder and a template together", () => {
    const j = make({ output: { bucket: origin, key: "videos/" } }, "{job_id}/{codec}-{resolution}.{format}");
    expect(place(j, "out_v", "out_v.mp4")).toEqual({ ok: true, placement: { store: "bucket", bucket: origin, key: `videos/${job.id}/h264-640x360.mp4` } });
  });

  it("prefers an output's own path_template to the job's", () => {
    const own = { id: "out_o", type: "mp4", spec: { type: "mp4", video: [{ codec: "h264", resolution: "720p" }], path_template: "mine/{resolution}.mp4" } };
    expect(place(make({}, "job/{output_id}.mp4", [own]), "out_o", "out_o.mp4")).toMatchObject({ placement: { key: `jobs/${job.id}/mine/720p.mp4` } });
  });

  it("writes an exact key as given, and refuses a package there", () => {
    const j = make({ output: { bucket: secret, key: "final/{job_id}.mp4" } });
    expect(place(j, "out_v", "out_v.mp4")).toEqual({ ok: true, placement: { store: "bucket", bucket: secret, key: `final/${job.id}.mp4` } });
    expect(place(j, "out_h", "out_h/master.m3u8")).toEqual({ ok: false, problem: expect.stringMatching(/package/) });
  });

  it("refuses a file of an output the job does not have", () => {
    expect(place(make({}), "out_x", "out_x.mp4")).toEqual({ ok: false, problem: expect.stringMatching(/no output out_x/) });
  });
});
