import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { encoderInstanceName, encoderPin } from "../../worker/dispatch/encoder-client";
import { derivedId } from "../../worker/ids";
import type { JobState } from "../../worker/jobs/job-state";
import { media } from "./clipzy-media";
import { call, jobDO, ordersFor, seedKey, seedOrg, videoJob } from "./helpers";

/*
 * Job limits per organization (worker/limits/): create rates per key and per org, jobs
 * under way, jobs on the encoder pool, and where a job is pinned on the pool. Each test
 * lowers its own organization's limits with an org_limits row; D1, the OrgLimiter and
 * JobDOs, and every front-end are real.
 */

type Limits = Partial<Record<"jobs_per_minute_per_key" | "jobs_per_minute" | "active_jobs" | "running_jobs", number>>;

async function limitedOrg(limits: Limits) {
  const org = await seedOrg();
  const columns = Object.keys(limits);
  await env.DB.prepare(`INSERT INTO org_limits (org_id, ${columns.join(", ")}) VALUES (?, ${columns.map(() => "?").join(", ")})`)
    .bind(org.orgId, ...Object.values(limits))
    .run();
  return org;
}

/** A second API key of the same organization. */
const anotherKey = (orgId: string) => seedKey(orgId, "second");

function expectRetryAfter(res: { status: number; headers: Headers }, max = 60) {
  expect(res.status).toBe(429);
  const seconds = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(seconds)).toBe(true);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(max);
}

const create = (key: string, extra: Record<string, unknown> = {}) => call("/v1/jobs", { key, body: videoJob(extra) });

describe("create rates", () => {
  it("the create past a key's rate is a 429 with Retry-After; another key of the org is not held back", async () => {
    const { key, orgId } = await limitedOrg({ jobs_per_minute_per_key: 3 });
    for (let i = 0; i < 3; i++) expect((await create(key)).status).toBe(201);
    const refused = await create(key);
    expectRetryAfter(refused, 20);
    expect(refused.json.error).toMatchObject({ code: "rate_limited", message: expect.stringMatching(/3 jobs per minute/) });
    expect((await create(await anotherKey(orgId))).status).toBe(201);
    console.log(`figures: per-key rate 3/min: creates 1–3 → 201, create 4 → 429 Retry-After ${refused.headers.get("retry-after")} s`);
  });

  it("the organization's rate holds over all its keys", async () => {
    const { key, orgId } = await limitedOrg({ jobs_per_minute: 2 });
    const second = await anotherKey(orgId);
    expect((await create(key)).status).toBe(201);
    expect((await create(second)).status).toBe(201);
    expectRetryAfter(await create(key), 30);
    expectRetryAfter(await create(second), 30);
  });

  it("is answered in every front-end's own shape, with Retry-After", async () => {
    const urn = (orgId: string) => `urn:janus:organization:${orgId.replace(/^org_/, "")}`;
    const shapes: [string, (key: string, orgId: string) => Promise<{ status: number; headers: Headers; json: any }>, (json: any) => void][] = [
      ["native", (key) => create(key), (json) => expect(json.error.code).toBe("rate_limited")],
      [
        "ittybit",
        (key) => call("/jobs", { key, body: { input: "https://example.com/in.mp4", kind: "video", options: { width: 320 } } }),
        (json) => expect(json).toEqual({ kind: "rate_limited", message: expect.any(String) }),
      ],
      [
        "transcodely",
        (key, orgId) =>
          call("/transcodely.v1.JobService/Create", {
            key,
            headers: { "x-organization-id": orgId },
            body: { input_url: "https://example.com/in.mp4", managed: true, outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "480p" }] }] },
          }),
        (json) => expect(json).toMatchObject({ code: "resource_exhausted", message: expect.any(String) }),
      ],
      [
        "vtk",
        (key, orgId) =>
          call(`/o/${urn(orgId)}/jobs`, {
            key,
            headers: { "x-castlabs-organization": urn(orgId) },
            body: { tasks: [{ tool: "storage:get", parameters: { location: "https://media.example.com/in/", files: ["a.mov"] } }] },
          }),
        (json) => expect(json).toMatchObject({ code: "rate_limited", detail: expect.any(String), request_id: expect.stringMatching(/^req_/) }),
      ],
    ];
    for (const [name, send, shape] of shapes) {
      const { key, orgId } = await limitedOrg({ jobs_per_minute_per_key: 1 });
      const first = await send(key, orgId);
      expect(first.status, `${name}: ${JSON.stringify(first.json)}`).toBeLessThan(300);
      const refused = await send(key, orgId);
      expectRetryAfter(refused);
      shape(refused.json);
    }

    // Clipzy: the upload's own job spends the key's one create; a job for that video is refused.
    const { key } = await limitedOrg({ jobs_per_minute_per_key: 1 });
    const form = new FormData();
    form.append("file", new File([media.mp4()], "source.mp4", { type: "application/octet-stream" }));
    const uploaded = await exports.default.fetch(new Request("https://kiln.test/api/v1/videos/upload", { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form }));
    expect(uploaded.status).toBe(201);
    const video = ((await uploaded.json()) as { data: { video_id: string; job_id: string } }).data;
    await call(`/api/v1/jobs/${video.job_id}/cancel`, { key, method: "POST" });
    const refused = await call("/api/v1/jobs", { key, body: { video_id: video.video_id } });
    expectRetryAfter(refused);
    expect(refused.json).toMatchObject({ success: false, error: { code: "RATE_LIMITED", detail: expect.any(String) }, timestamp: expect.any(String) });
  });
});

describe("jobs under way", () => {
  it("caps an organization's unfinished jobs, a burst included; an idempotent retry is no new job; an ended job frees its place", async () => {
    const { key } = await limitedOrg({ active_jobs: 3 });
    const burst = await Promise.all(Array.from({ length: 8 }, () => create(key)));
    const statuses = burst.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429, 429, 429]);
    for (const res of burst.filter((r) => r.status === 429)) {
      expectRetryAfter(res);
      expect(res.json.error.message).toMatch(/3 jobs under way/);
    }
    console.log(`figures: burst of 8 creates against a cap of 3 jobs under way: ${statuses.filter((s) => s === 201).length} created, ${statuses.filter((s) => s === 429).length} refused 429`);

    // A retry of a job that exists makes none, so the cap does not refuse it.
    const [made] = burst.filter((r) => r.status === 201);
    const keyed = await limitedOrg({ active_jobs: 1 });
    const original = await call("/v1/jobs", { key: keyed.key, body: videoJob(), headers: { "idempotency-key": "same-job" } });
    expect(original.status).toBe(201);
    const retried = await call("/v1/jobs", { key: keyed.key, body: videoJob(), headers: { "idempotency-key": "same-job" } });
    expect(retried.status).toBeLessThan(300);
    expect(retried.json.id).toBe(original.json.id);
    expect((await create(keyed.key)).status).toBe(429);

    expect((await call(`/v1/jobs/${made!.json.id}/cancel`, { key, method: "POST" })).status).toBe(200);
    expect((await create(key)).status).toBe(201);
  });
});

describe("jobs on the encoder pool", () => {
  it("an organization past its running cap waits as for a full pool, and goes on when a job ends", async () => {
    const { key } = await limitedOrg({ running_jobs: 1 });
    const first = (await create(key)).json.id as string;
    await expect.poll(async () => (await ordersFor(first)).length, { timeout: 8000, interval: 50 }).toBe(1);
    // The first job is on the pool once the encoder reports it.
    const order = (await ordersFor<{ attempt: number; lease_token: string }>(first))[0]!;
    const started = await call(`/internal/jobs/${first}/events`, {
      headers: { authorization: `Bearer ${order.lease_token}` },
      body: { v: 1, job_id: first, attempt: order.attempt, seq: 0, at: new Date().toISOString(), type: "task_started", stage: "import", task_id: null },
    });
    expect(started.status).toBe(200);
    await expect.poll(async () => (await call(`/v1/jobs/${first}`, { key })).json.status, { timeout: 5000 }).toBe("probing");

    const second = (await create(key)).json.id as string;
    await expect.poll(async () => (await call(`/v1/jobs/${second}`, { key })).json.waiting_for_encoder, { timeout: 5000 }).toBe(true);
    expect(await ordersFor(second)).toEqual([]);

    expect((await call(`/v1/jobs/${first}/cancel`, { key, method: "POST" })).status).toBe(200);
    await runInDurableObject(jobDO(second), (instance) => {
      const dispatch = (instance as unknown as { job: JobState }).job.dispatch;
      if (dispatch) dispatch.next_try_at = Date.now() - 1;
    });
    await runDurableObjectAlarm(jobDO(second));
    await expect.poll(async () => (await ordersFor(second)).length, { timeout: 8000, interval: 50 }).toBe(1);
  });

  it("a job leaving the pool wakes the first job waiting for a slot at once, premium before standard, not at its next backoff try", async () => {
    const { key } = await limitedOrg({ running_jobs: 1 });
    const first = (await create(key)).json.id as string;
    await expect.poll(async () => (await ordersFor(first)).length, { timeout: 8000, interval: 50 }).toBe(1);
    const order = (await ordersFor<{ attempt: number; lease_token: string }>(first))[0]!;
    await call(`/internal/jobs/${first}/events`, {
      headers: { authorization: `Bearer ${order.lease_token}` },
      body: { v: 1, job_id: first, attempt: order.attempt, seq: 0, at: new Date().toISOString(), type: "task_started", stage: "import", task_id: null },
    });
    await expect.poll(async () => (await call(`/v1/jobs/${first}`, { key })).json.status, { timeout: 5000 }).toBe("probing");

    const standard = (await create(key)).json.id as string;
    const premium = (await create(key, { priority: "premium" })).json.id as string;
    for (const id of [standard, premium]) await expect.poll(async () => (await call(`/v1/jobs/${id}`, { key })).json.waiting_for_encoder, { timeout: 5000 }).toBe(true);
    // Both deep in their backoff: without a wake-up neither would ask again for ten minutes.
    const later = Date.now() + 600_000;
    for (const id of [standard, premium]) {
      await runInDurableObject(jobDO(id), async (instance, state) => {
        const job = (instance as unknown as { job: JobState }).job;
        job.dispatch!.next_try_at = later;
        await state.storage.setAlarm(later);
      });
    }

    expect((await call(`/v1/jobs/${first}/cancel`, { key, method: "POST" })).status).toBe(200);
    await expect.poll(async () => (await ordersFor(premium)).length, { timeout: 8000, interval: 50 }).toBe(1);
    // One slot, taken by the premium job: the standard one was woken too, and waits again behind it.
    await expect.poll(async () => (await call(`/v1/jobs/${standard}`, { key })).json.waiting_for_encoder, { timeout: 5000 }).toBe(true);
    expect(await ordersFor(standard)).toEqual([]);
    await runInDurableObject(jobDO(standard), (instance) => {
      expect((instance as unknown as { job: JobState }).job.dispatch!.next_try_at).toBeLessThan(later);
    });
  });

  it("a job the encoder pool refused gives its place under the cap back at once", async () => {
    const { key, orgId } = await limitedOrg({ running_jobs: 1 });
    const idempotencyKey = `refused-${crypto.randomUUID()}`;
    // An idempotency key names the job, so the encoder double can be told to refuse it in advance.
    const refusedId = await derivedId("job", `${orgId}\n${idempotencyKey}`);
    await fetch(`${env.ENCODER_URL}/control`, { method: "POST", body: JSON.stringify({ job_id: refusedId, busy: 1 }) });
    expect((await create(key, { idempotency_key: idempotencyKey })).json.id).toBe(refusedId);
    await expect.poll(async () => (await call(`/v1/jobs/${refusedId}`, { key })).json.waiting_for_encoder, { timeout: 5000 }).toBe(true);
    // Admitted under the cap, then refused by the pool: the place it held for a minute is free now.
    const next = (await create(key)).json.id as string;
    await expect.poll(async () => (await ordersFor(next)).length, { timeout: 2500, interval: 50 }).toBe(1);
  });

  it("pins a job by a keyed hash of its id: idempotency keys chosen to crowd one instance spread over the pool", async () => {
    const orgId = "org_pinning";
    // What a tenant could do when the pin was FNV-1a of the job id: pick keys whose job ids all hash to pool-0.
    const crowding: string[] = [];
    for (let i = 0; crowding.length < 40; i++) {
      const jobId = await derivedId("job", `${orgId}\nkey-${i}`);
      if (encoderInstanceName(jobId, 4) === "pool-0") crowding.push(jobId);
    }
    const placed = crowding.map((id) => encoderInstanceName(encoderPin(env, id), 4));
    const counts = new Map<string, number>();
    for (const name of placed) counts.set(name, (counts.get(name) ?? 0) + 1);
    console.log(`figures: 40 job ids chosen to share one instance land on ${counts.size} of 4: ${JSON.stringify(Object.fromEntries(counts))}`);
    expect(counts.size).toBe(4);
    expect(Math.max(...counts.values())).toBeLessThan(25);
    // The pin is the server secret's: the same id under another secret is placed anew, and stays put under one.
    expect(encoderPin(env, crowding[0]!)).toBe(encoderPin(env, crowding[0]!));
    expect(encoderPin({ ENCODER_TOKEN: "another-secret" }, crowding[0]!)).not.toBe(encoderPin(env, crowding[0]!));
  });
});
