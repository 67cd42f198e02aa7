import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newJobId } from "../../worker/jobs/idempotency";
import { type CallOptions, call, jobDO, seedOrg, videoJob } from "./helpers";

/*
 * Stripe's promise: any number of concurrent creates with one idempotency key make one
 * job. 50 of them race in each front-end that takes a key (native body field and header,
 * Ittybit's Idempotency-Key header, Transcodely's idempotency_key and its header); every
 * answer names the same job, D1 indexes one row, and one JobDO holds it. VTK and Clipzy
 * take no idempotency key (VTK's submission has no such field; Clipzy refuses a second
 * job for a video only while the first is under way, a check the docs of
 * worker/dialects/clipzy/create.ts say a race can pass), so they are not here.
 */

const CONCURRENT = 50;

interface Front {
  name: string;
  create: (key: string, idempotencyKey: string) => CallOptions & { path: string };
  /** The job id in a successful answer. */
  idOf: (json: any) => string;
}

const fronts: Front[] = [
  { name: "native (body idempotency_key)", create: (key, k) => ({ path: "/v1/jobs", key, body: videoJob({ idempotency_key: k }) }), idOf: (j) => j.id },
  { name: "native (Idempotency-Key header)", create: (key, k) => ({ path: "/v1/jobs", key, headers: { "idempotency-key": k }, body: videoJob() }), idOf: (j) => j.id },
  {
    name: "ittybit (Idempotency-Key header)",
    create: (key, k) => ({ path: "/jobs", key, headers: { "idempotency-key": k }, body: { input: "https://example.com/upload.mov", kind: "video", options: { format: "mp4", quality: "high" } } }),
    idOf: (j) => j.id,
  },
  {
    name: "transcodely (idempotency_key)",
    create: (key, k) => ({ path: "/transcodely.v1.JobService/Create", key, body: { input_url: "https://media.example.com/in.mp4", managed: true, idempotency_key: k, outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "720p", quality: "standard" }] }] } }),
    idOf: (j) => j.job.id,
  },
  {
    name: "transcodely (Idempotency-Key header)",
    create: (key, k) => ({ path: "/transcodely.v1.JobService/Create", key, headers: { "idempotency-key": k }, body: { input_url: "https://media.example.com/in.mp4", managed: true, outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "720p", quality: "standard" }] }] } }),
    idOf: (j) => j.job.id,
  },
];

describe("50 concurrent creates with one idempotency key", { timeout: 120_000 }, () => {
  it.each(fronts)("make one job: $name", async (front) => {
    const org = await seedOrg();
    const idempotencyKey = `fuzz-${crypto.randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, () => {
        const { path, ...options } = front.create(org.key, idempotencyKey);
        return call(path, options);
      }),
    );
    for (const answer of answers) expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(300);
    const ids = new Set(answers.map((a) => front.idOf(a.json)));
    expect(ids.size).toBe(1);
    const [jobId] = [...ids] as [string];
    expect(jobId).toBe(await newJobId(org.orgId, idempotencyKey));

    // The native API says which answer created it: exactly one 201.
    if (front.name.startsWith("native")) expect(answers.filter((a) => a.status === 201)).toHaveLength(1);

    // One index row, and no other job in the organization.
    const rows = await env.DB.prepare("SELECT id FROM jobs WHERE org_id = ?").bind(org.orgId).all<{ id: string }>();
    expect(rows.results.map((r) => r.id)).toEqual([jobId]);

    // One JobDO, holding that job once.
    const objects = (await listDurableObjectIds(env.JOBS)).map((id) => id.toString());
    expect(objects.filter((id) => id === env.JOBS.idFromName(jobId).toString())).toHaveLength(1);
    const stored = await runInDurableObject(jobDO(jobId), (_instance, state) =>
      state.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'").toArray().map((r) => JSON.parse(r.body) as { id: string; idempotency_key: string }),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id: jobId, idempotency_key: idempotencyKey });
    console.log(`figures: idempotency ${front.name}: ${CONCURRENT} concurrent creates → ${ids.size} job, ${rows.results.length} D1 row, ${stored.length} stored job`);
  });
});
