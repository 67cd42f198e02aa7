import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { COUNT_BOUND, COUNT_WINDOW } from "../../worker/jobs/job-count";
import { SEARCH_HITS } from "../../worker/jobs/job-list";
import { call, seedOrg, videoJob } from "./helpers";

/** The org's per-status counters (org_job_counts), statuses with no job left included as 0. */
async function counters(orgId: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare("SELECT status, total FROM org_job_counts WHERE org_id = ?").bind(orgId).all<{ status: string; total: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.total]));
}

const totalCount = async (path: string, key: string) => (await call(path, { key })).json.total_count as number;

describe("total_count from the per-org status counters", () => {
  it("counts jobs as they are created and as their status changes", async () => {
    const { orgId, key } = await seedOrg();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call("/v1/jobs", { key, body: videoJob() })).json.id);
    expect(await counters(orgId)).toEqual({ pending: 3 });

    await call(`/v1/jobs/${ids[0]}/cancel`, { key, method: "POST" });
    await call(`/v1/jobs/${ids[1]}/cancel`, { key, method: "POST" });
    expect(await counters(orgId)).toEqual({ pending: 1, canceled: 2 });
    expect(await totalCount("/v1/jobs", key)).toBe(3);
    expect(await totalCount("/v1/jobs?status=canceled", key)).toBe(2);
    expect(await totalCount("/v1/jobs?status=pending,canceled", key)).toBe(3);
    expect(await totalCount("/v1/jobs?status=completed", key)).toBe(0);

    await call(`/v1/jobs/${ids[0]}/restart`, { key, method: "POST" });
    expect(await counters(orgId)).toEqual({ pending: 2, canceled: 1 });
    expect(await totalCount("/v1/jobs?status=canceled", key)).toBe(1);
  });

  it("keeps each organization's jobs to itself", async () => {
    const a = await seedOrg();
    const b = await seedOrg();
    for (let i = 0; i < 2; i++) await call("/v1/jobs", { key: a.key, body: videoJob() });
    const onB = (await call("/v1/jobs", { key: b.key, body: videoJob() })).json.id;
    await call(`/v1/jobs/${onB}/cancel`, { key: b.key, method: "POST" });
    expect(await counters(a.orgId)).toEqual({ pending: 2 });
    expect(await counters(b.orgId)).toEqual({ pending: 0, canceled: 1 });
    expect(await totalCount("/v1/jobs", a.key)).toBe(2);
    expect(await totalCount("/v1/jobs", b.key)).toBe(1);
    expect(await totalCount("/v1/jobs?status=canceled", a.key)).toBe(0);
  });

  it("stays put when a write keeps the status, and lets a deleted job go", async () => {
    const { orgId, key } = await seedOrg();
    const id = (await call("/v1/jobs", { key, body: videoJob() })).json.id;
    await env.DB.prepare("UPDATE jobs SET progress = 5, status = 'pending' WHERE id = ?").bind(id).run();
    expect(await counters(orgId)).toEqual({ pending: 1 });
    await env.DB.prepare("DELETE FROM jobs WHERE id = ?").bind(id).run();
    expect(await counters(orgId)).toEqual({ pending: 0 });
  });
});

describe("total_count of other filters is bounded", () => {
  /**
   * `n` index rows of the org written straight into D1 (as job-index.ts shapes them), job i
   * created i seconds after the first and tagged "all" and `tagOf(i)`.
   */
  async function indexRows(orgId: string, n: number, tagOf: string) {
    await env.DB.prepare(
      `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?2)
       INSERT INTO jobs (id, org_id, status, mode, kind, priority, tags, created_at, updated_at)
       SELECT 'job_row' || ?1 || '_' || i, ?1, 'completed', 'kind', 'video', 'normal', json_array('all', ${tagOf}),
              strftime('%Y-%m-%dT%H:%M:%fZ', 1735689600 + i, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', 1735689600 + i, 'unixepoch') FROM k`,
    )
      .bind(orgId, n)
      .run();
    await env.DB.prepare("INSERT INTO job_tags (job_id, org_id, tag, created_at) SELECT j.id, j.org_id, t.value, j.created_at FROM jobs j, json_each(j.tags) t WHERE j.org_id = ?")
      .bind(orgId)
      .run();
  }
  const n = COUNT_BOUND + 2;
  const id = (orgId: string, i: number) => `job_row${orgId}_${i}`;

  it("reports the bound, a lower bound, when more jobs match; exact below it and for statuses", async () => {
    const { orgId, key } = await seedOrg();
    await indexRows(orgId, n, "CASE i % 2 WHEN 0 THEN 'even' ELSE 'odd' END");
    expect(await totalCount("/v1/jobs?tag=all", key)).toBe(COUNT_BOUND);
    expect(await totalCount("/v1/jobs?tag=even", key)).toBe(n / 2);
    expect(await totalCount("/v1/jobs?tag=all,odd", key)).toBe(n / 2);
    expect(await totalCount("/v1/jobs?tag=all&status=completed", key)).toBe(COUNT_BOUND);
    // The counters are exact at any size.
    expect(await totalCount("/v1/jobs", key)).toBe(n);
    expect(await totalCount("/v1/jobs?status=completed", key)).toBe(n);
    const page = await call("/v1/jobs?tag=even&limit=2", { key });
    expect(page.json.data.map((j: { id: string }) => j.id)).toEqual([id(orgId, n - 2), id(orgId, n - 4)]);
  });

  it(`estimates a search with more than ${SEARCH_HITS} hits from the org's ${COUNT_WINDOW} newest jobs`, async () => {
    const { orgId, key } = await seedOrg();
    // The newest 1,500 jobs are "recent": the newest 1,000 all match, so the estimate is the org's size.
    await indexRows(orgId, n, `CASE WHEN i >= ${n - 1500} THEN 'recent' ELSE 'older' END`);
    expect(await totalCount("/v1/jobs?search=recent", key)).toBe(n);
    const page = await call("/v1/jobs?search=recent&limit=2", { key });
    expect(page.json.data.map((j: { id: string }) => j.id)).toEqual([id(orgId, n - 1), id(orgId, n - 2)]);
    // Half of the window matches: half the org, estimated.
    // Short terms are walked and estimated alike (ids hold no "o": worker/ids.ts). None of the
    // newest 1,000 is "older", so the estimate is what the page saw: 20 and more.
    expect(await totalCount("/v1/jobs?search=ol", key)).toBe(21);
    expect(await totalCount("/v1/jobs?search=nt", key)).toBe(n);
    // Few hits: looked up and counted exactly.
    expect(await totalCount(`/v1/jobs?search=${id(orgId, n - 3)}`, key)).toBe(1);
  });
});

describe("search through the trigram index", () => {
  it("finds parts of ids and tags in any case, and short or quoted terms too", async () => {
    const { key } = await seedOrg();
    const make = async (tags: string[]) => (await call("/v1/jobs", { key, body: videoJob({ tags }) })).json.id as string;
    const a = await make(["Spring-Launch"]);
    // Job ids hold no "i" (worker/ids.ts), so "xi" is in b's tag alone.
    const b = await make(["xi", 'say "hi"']);
    const ids = async (search: string) => (await call(`/v1/jobs?search=${encodeURIComponent(search)}`, { key })).json.data.map((j: { id: string }) => j.id);
    expect(await ids("G-LAUN")).toEqual([a]);
    expect(await ids(a.slice(5, 15).toUpperCase())).toEqual([a]);
    expect(await ids('"hi"')).toEqual([b]);
    expect(await ids('y "h')).toEqual([b]);
    expect(await ids("XI")).toEqual([b]);
    // A phrase across two tags is in neither.
    expect(await ids('xi say "')).toEqual([]);
    expect(await ids("launch_")).toEqual([]);
  });
});
