import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { type MultipartUpload, signResponseSchema } from "../../encoder/contract";
import { app } from "../../worker/app";
import type { Env } from "../../worker/env";
import { planParts } from "../../worker/storage/multipart";
import { call, seedOrg, videoJob, orderNumber } from "./helpers";

/**
 * The R2 side of multipart export, played as the encoder plays it: sign with
 * `multipart: true`, PUT each part to its signed /storage URL, complete through the
 * internal route with the lease token. Parts are 5 MiB, R2's minimum, so the test
 * uses the same limits a deployment could.
 */
const MIB = 1024 * 1024;
const limits: Env = { ...env, MULTIPART_THRESHOLD_BYTES: String(6 * MIB), MULTIPART_PART_BYTES: String(5 * MIB) };

async function send(request: Request, bindings: Env = limits): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(request, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

async function sha256(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

interface Order {
  job_id: string;
  lease_token: string;
  tasks: { output_id: string }[];
}

/** A dispatched job and its lease token, as the encoder double received them. */
async function runningJob(): Promise<Order> {
  const { key } = await seedOrg();
  const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
  return orderNumber<Order>(job.id);
}

/** The job's one output: files are placed by their output. */
const outputOf = (order: Order) => order.tasks[0]!.output_id;

function internal(order: Order, path: string, body: unknown, token: string | null = order.lease_token, bindings: Env = limits) {
  return send(
    new Request(`https://kiln.test/internal/jobs/${order.job_id}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    }),
    bindings,
  );
}

async function signBig(order: Order, size: number, multipart = true, bindings: Env = limits) {
  const res = await internal(
    order,
    "sign",
    {
      job_id: order.job_id,
      attempt: 1,
      multipart,
      files: [
        { output_id: outputOf(order), path: `${outputOf(order)}/big.mp4`, content_type: "video/mp4", size_bytes: size },
        { output_id: outputOf(order), path: `${outputOf(order)}/poster.jpg`, content_type: "image/jpeg", size_bytes: 4 },
      ],
    },
    order.lease_token,
    bindings,
  );
  expect(res.status).toBe(200);
  return signResponseSchema.parse(await res.json());
}

const putPart = (url: string, bytes: Uint8Array) =>
  exports.default.fetch(new Request(url, { method: "PUT", body: bytes, headers: { "content-length": String(bytes.byteLength) } }));

async function uploadParts(plan: MultipartUpload, data: Uint8Array) {
  const parts: { part_number: number; etag: string }[] = [];
  for (const part of plan.parts) {
    const res = await putPart(part.url, data.subarray(part.offset, part.offset + part.size_bytes));
    expect(res.status).toBe(200);
    parts.push({ part_number: part.part_number, etag: res.headers.get("etag")! });
  }
  return parts;
}

const target = (order: Order, plan: MultipartUpload) => ({ job_id: order.job_id, attempt: 1, output_id: plan.output_id, path: plan.path, upload_id: plan.upload_id });

describe("multipart export to R2", () => {
  it("answers a file over the threshold with signed part URLs and completes the object from its parts", async () => {
    const order = await runningJob();
    const data = randomBytes(11 * MIB + 12345);
    const signed = await signBig(order, data.byteLength);
    const [plan, small] = signed.uploads;
    expect(small).toMatchObject({ kind: "put", path: `${outputOf(order)}/poster.jpg`, method: "PUT" });
    if (plan?.kind !== "multipart") throw new Error("expected a multipart plan");
    expect(plan.parts.map((p) => [p.part_number, p.offset, p.size_bytes])).toEqual([
      [1, 0, 5 * MIB],
      [2, 5 * MIB, 5 * MIB],
      [3, 10 * MIB, MIB + 12345],
    ]);
    expect(plan.complete_url).toBe(`http://127.0.0.1:8787/internal/jobs/${order.job_id}/multipart/complete`);
    const url = new URL(plan.parts[1]!.url);
    expect(url.pathname).toBe(`/storage/jobs/${order.job_id}/${outputOf(order)}/big.mp4`);
    expect(url.searchParams.get("upload")).toBe(plan.upload_id);
    expect(url.searchParams.get("part")).toBe("2");
    expect(url.searchParams.get("max")).toBe(String(5 * MIB));

    const parts = await uploadParts(plan, data);
    for (const p of parts) expect(p.etag).toMatch(/^".+"$/);
    const done = await internal(order, "multipart/complete", { ...target(order, plan), parts });
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ path: `${outputOf(order)}/big.mp4`, size_bytes: data.byteLength });

    const stored = await env.MEDIA.get(`jobs/${order.job_id}/${outputOf(order)}/big.mp4`);
    expect(stored!.size).toBe(data.byteLength);
    expect(stored!.httpMetadata?.contentType).toBe("video/mp4");
    expect(await sha256(await stored!.arrayBuffer())).toBe(await sha256(data));

    // The upload is over: its part URLs and a second completion find nothing.
    const late = await putPart(plan.parts[0]!.url, data.subarray(0, 5 * MIB));
    expect(late.status).toBe(404);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe("multipart_upload_not_found");
    const again = await internal(order, "multipart/complete", { ...target(order, plan), parts });
    expect(again.status).toBe(404);
  });

  it("refuses a tampered part URL (403) and a part of another size (400)", async () => {
    const order = await runningJob();
    const { uploads } = await signBig(order, 11 * MIB);
    const plan = uploads[0] as MultipartUpload;
    const part2 = new URL(plan.parts[1]!.url);
    for (const [name, value] of [["part", "3"], ["upload", `${plan.upload_id}x`], ["max", String(6 * MIB)]] as const) {
      const tampered = new URL(part2);
      tampered.searchParams.set(name, value);
      const res = await putPart(tampered.toString(), randomBytes(5 * MIB));
      expect(res.status, name).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("signature_invalid");
    }
    const short = await putPart(part2.toString(), randomBytes(5 * MIB - 1));
    expect(short.status).toBe(400);
    expect(((await short.json()) as { error: { code: string } }).error.code).toBe("validation_error");
  });

  it("completes only for the lease holder, and names a missing part", async () => {
    const order = await runningJob();
    const data = randomBytes(11 * MIB);
    const plan = (await signBig(order, data.byteLength)).uploads[0] as MultipartUpload;
    const parts = await uploadParts(plan, data);

    const noToken = await internal(order, "multipart/complete", { ...target(order, plan), parts }, null);
    expect(noToken.status).toBe(401);
    const wrong = await internal(order, "multipart/complete", { ...target(order, plan), parts }, "f".repeat(48));
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("forbidden");

    const gap = await internal(order, "multipart/complete", { ...target(order, plan), parts: [parts[0], parts[2]] });
    expect(gap.status).toBe(400);
    expect(await gap.json()).toMatchObject({ error: { code: "multipart_part_missing", details: { part_number: 2 } } });
    const badEtag = await internal(order, "multipart/complete", { ...target(order, plan), parts: [parts[0], { part_number: 2, etag: '"0000"' }, parts[2]] });
    expect(badEtag.status).toBe(400);
    expect(((await badEtag.json()) as { error: { code: string } }).error.code).toBe("multipart_part_missing");
    const twice = await internal(order, "multipart/complete", { ...target(order, plan), parts: [parts[0], parts[0], parts[1], parts[2]] });
    expect(((await twice.json()) as { error: { code: string } }).error.code).toBe("multipart_parts_invalid");
    const climbing = await internal(order, "multipart/complete", { ...target(order, plan), path: "../other/big.mp4", parts });
    expect(climbing.status).toBe(400);
    expect(await env.MEDIA.head(`jobs/${order.job_id}/${outputOf(order)}/big.mp4`)).toBeNull();

    // Still completable after all the refusals.
    expect((await internal(order, "multipart/complete", { ...target(order, plan), parts })).status).toBe(200);
  });

  it("a part missing from R2 (never uploaded) fails completion with multipart_part_missing", async () => {
    const order = await runningJob();
    const data = randomBytes(11 * MIB);
    const plan = (await signBig(order, data.byteLength)).uploads[0] as MultipartUpload;
    const first = await putPart(plan.parts[0]!.url, data.subarray(0, 5 * MIB));
    const res = await internal(order, "multipart/complete", {
      ...target(order, plan),
      parts: [{ part_number: 1, etag: first.headers.get("etag")! }, { part_number: 2, etag: first.headers.get("etag")! }],
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("multipart_part_missing");
  });

  it("abort drops the upload: its parts and its completion are refused afterwards", async () => {
    const order = await runningJob();
    const data = randomBytes(11 * MIB);
    const plan = (await signBig(order, data.byteLength)).uploads[0] as MultipartUpload;
    const parts = await uploadParts(plan, data);
    const wrong = await internal(order, "multipart/abort", target(order, plan), "f".repeat(48));
    expect(wrong.status).toBe(403);
    const aborted = await internal(order, "multipart/abort", target(order, plan));
    expect(aborted.status).toBe(200);
    expect((await internal(order, "multipart/abort", target(order, plan))).status).toBe(200);
    expect((await putPart(plan.parts[0]!.url, data.subarray(0, 5 * MIB))).status).toBe(404);
    const complete = await internal(order, "multipart/complete", { ...target(order, plan), parts });
    expect(complete.status).toBe(404);
    expect(((await complete.json()) as { error: { code: string } }).error.code).toBe("multipart_upload_not_found");
  });

  it("signs single PUTs for an encoder that does not ask for parts, and under the default threshold", async () => {
    const order = await runningJob();
    expect((await signBig(order, 11 * MIB, false)).uploads.map((u) => u.kind)).toEqual(["put", "put"]);
    expect((await signBig(order, 11 * MIB, true, env)).uploads.map((u) => u.kind)).toEqual(["put", "put"]);
  });
});

describe("planParts", () => {
  it("cuts equal parts and a shorter tail, growing the part size past 10,000 parts", () => {
    expect(planParts(10, 4)).toEqual([
      { part_number: 1, offset: 0, size_bytes: 4 },
      { part_number: 2, offset: 4, size_bytes: 4 },
      { part_number: 3, offset: 8, size_bytes: 2 },
    ]);
    expect(planParts(8, 4)).toHaveLength(2);
    const huge = planParts(100_000 * MIB, 5 * MIB);
    expect(huge.length).toBeLessThanOrEqual(10_000);
    expect(huge[0]!.size_bytes).toBe(10 * MIB);
  });
});
