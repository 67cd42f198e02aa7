import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fromApiError } from "../../worker/dialects/transcodely/connect";
import { clipzyErrorBody, clipzyFailure } from "../../worker/dialects/clipzy/envelope";
import { ittybitError } from "../../worker/dialects/ittybit/errors";
import { vtkError } from "../../worker/dialects/vtk/errors";
import { ApiError } from "../../worker/errors";
import { newJobId } from "../../worker/jobs/idempotency";
import { MAX_JOB_BYTES } from "../../worker/jobs/job-size";
import { call, jobDO, seedOrg } from "./helpers";

/*
 * A job is one row of its JobDO's SQLite storage. The row limit is measured here, in
 * workerd, and a job that would come near it is refused with 413 `job_too_large` before
 * anything is stored: no JobDO, no D1 index row. The boundary is found by searching the
 * padding of a tool pipeline (whose ffmpeg arguments the job stores twice: the request's
 * tasks and the planned ones).
 */

const CHUNK = 4000;
const KEY_LENGTH = 24;

/** A pipeline whose ffmpeg command carries `pad` characters of metadata, in arguments of at most 4 KiB. */
function paddedPipeline(pad: number, idempotencyKey: string) {
  const args = ["-i", "a.mov"];
  for (let left = pad; left > 0; left -= CHUNK) args.push("-metadata", `comment=${"x".repeat(Math.min(CHUNK, left))}`);
  args.push("out.mp4");
  return {
    idempotency_key: idempotencyKey,
    tasks: [
      { tool: "storage:get", parameters: { location: "https://media.example.com/in/", files: ["a.mov"] } },
      { tool: "ffmpeg:cmd", parameters: { arguments: args } },
    ],
  };
}

const newKey = () => crypto.randomUUID().replaceAll("-", "").slice(0, KEY_LENGTH);

/** What the JobDO stored for the job: the document and the planned part the limit is on. */
async function storedJob(jobId: string): Promise<{ rowBytes: number; plannedBytes: number }> {
  return runInDurableObject(jobDO(jobId), (_instance, state) => {
    const body = state.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'").one().body;
    const doc = JSON.parse(body) as { spec: unknown; tasks: unknown; outputs: unknown };
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;
    return { rowBytes: bytes(doc), plannedBytes: bytes({ spec: doc.spec, tasks: doc.tasks, outputs: doc.outputs }) };
  });
}

/** No index row in the org and no JobDO for the job the key names; `stored`, a job that was created, shows the listing sees JobDOs. */
async function nothingCreated(orgId: string, idempotencyKey: string, stored: string): Promise<void> {
  const jobId = await newJobId(orgId, idempotencyKey);
  const rows = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE org_id = ?").bind(orgId).first<{ n: number }>();
  expect(rows?.n).toBe(0);
  const objects = (await listDurableObjectIds(env.JOBS)).map((id) => id.toString());
  expect(objects).toContain(env.JOBS.idFromName(stored).toString());
  expect(objects).not.toContain(env.JOBS.idFromName(jobId).toString());
}

describe("the JobDO's row limit", () => {
  it("is measured in workerd: a row past it is refused, and the job limit leaves half of it for a running job", async () => {
    const largest = await runInDurableObject(jobDO(`job_${"m".repeat(20)}`), (_instance, state) => {
      const sql = state.storage.sql;
      // The same shape as the JobDO's `doc` table, in a table of its own so no job is made.
      sql.exec("CREATE TABLE IF NOT EXISTS row_probe (name TEXT PRIMARY KEY, body TEXT NOT NULL)");
      const fits = (n: number) => {
        try {
          sql.exec("INSERT OR REPLACE INTO row_probe (name, body) VALUES ('job', ?)", "a".repeat(n));
          return true;
        } catch (err) {
          expect(String(err)).toMatch(/SQLITE_TOOBIG/);
          return false;
        }
      };
      let [fitting, over] = [1_000_000, 4_000_000];
      expect(fits(fitting)).toBe(true);
      expect(fits(over)).toBe(false);
      while (over - fitting > 1) {
        const mid = Math.floor((fitting + over) / 2);
        if (fits(mid)) fitting = mid;
        else over = mid;
      }
      sql.exec("DROP TABLE row_probe");
      return fitting;
    });
    console.log(`figures: DO SQLite row limit: a doc row holds a body of at most ${largest} bytes; job limit ${MAX_JOB_BYTES} bytes`);
    // Cloudflare documents 2 MB per row; the job keeps to half of that.
    expect(largest).toBeGreaterThanOrEqual(2_000_000);
    expect(MAX_JOB_BYTES * 2).toBeLessThanOrEqual(2_000_000);
  });
});

describe("oversized jobs", { timeout: 120_000 }, () => {
  it("takes the largest job end to end and refuses one byte more with 413 job_too_large, storing nothing", async () => {
    const org = await seedOrg();
    const create = (pad: number, key = newKey()) => call("/v1/jobs", { key: org.key, body: paddedPipeline(pad, key) });

    // Two jobs place the boundary (a character of padding is about two stored bytes), then a search finds it.
    const sizeOf = async (pad: number) => {
      const res = await create(pad);
      expect(res.status, res.text.slice(0, 300)).toBe(201);
      return (await storedJob(res.json.id)).plannedBytes;
    };
    const [at100k, at200k] = [await sizeOf(100_000), await sizeOf(200_000)];
    const predicted = 200_000 + Math.floor(((MAX_JOB_BYTES - at200k) * 100_000) / (at200k - at100k));
    let [fitting, over] = [predicted - 256, predicted + 256];
    const low = await create(fitting);
    expect(low.status, low.text.slice(0, 300)).toBe(201);
    let largest = low.json.id as string;
    expect((await create(over)).status).toBe(413);
    while (over - fitting > 1) {
      const mid = Math.floor((fitting + over) / 2);
      const res = await create(mid);
      if (res.status === 201) [fitting, largest] = [mid, res.json.id];
      else {
        expect(res.status, res.text.slice(0, 300)).toBe(413);
        over = mid;
      }
    }

    // The largest accepted job is stored whole and reads back.
    const stored = await storedJob(largest);
    expect(stored.plannedBytes).toBeLessThanOrEqual(MAX_JOB_BYTES);
    expect(stored.plannedBytes).toBeGreaterThan(MAX_JOB_BYTES - 8);
    const got = await call(`/v1/jobs/${largest}`, { key: org.key });
    expect(got.status, got.text.slice(0, 300)).toBe(200);
    const args = got.json.tasks.find((t: { tool: string }) => t.tool === "ffmpeg:cmd").options.arguments as string[];
    expect(args.join("").length).toBe(paddedPipeline(fitting, "k").tasks[1]!.parameters.arguments!.join("").length);

    // One character more, in an organization of its own so that nothing of it can hide among the rest.
    const other = await seedOrg();
    const key = newKey();
    const refused = await call("/v1/jobs", { key: other.key, body: paddedPipeline(fitting + 1, key) });
    expect(refused.status, refused.text.slice(0, 300)).toBe(413);
    expect(refused.json.error.code).toBe("job_too_large");
    expect(refused.json.error.details.limit).toBe(MAX_JOB_BYTES);
    await nothingCreated(other.orgId, key, largest);
    const body = JSON.stringify(paddedPipeline(fitting, key)).length;
    console.log(`figures: job size boundary: planned job ${stored.plannedBytes} bytes (row ${stored.rowBytes}) from a ${body}-byte body accepted; one character more refused 413 job_too_large`);
  });

  it("refuses an oversized VTK submission in VTK's shape, storing nothing", async () => {
    const org = await seedOrg();
    const urn = `urn:janus:organization:${org.orgId.replace(/^org_/, "")}`;
    const { idempotency_key: _key, ...body } = paddedPipeline(600_000, "unused");
    const res = await call(`/o/${urn}/jobs`, { key: org.key, headers: { "x-castlabs-organization": urn }, body });
    expect(res.status, res.text.slice(0, 300)).toBe(413);
    expect(res.json).toMatchObject({ code: "job_too_large", limit: MAX_JOB_BYTES, request_id: expect.any(String) });
    expect(res.json.detail).toMatch(/at most 1000000/);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE org_id = ?").bind(org.orgId).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("names the refusal in every other front-end's shape", () => {
    // Only a tool pipeline (native tasks, VTK) can reach the limit inside a 1 MiB body; the other front-ends render the same error.
    const error = new ApiError(413, "job_too_large", "The job would store 1000001 bytes; a job may hold at most 1000000", { bytes: 1_000_001, limit: MAX_JOB_BYTES });
    expect(ittybitError(error)).toEqual({ kind: "job_too_large", message: error.message });
    const connect = fromApiError(error);
    expect(connect).toMatchObject({ code: "resource_exhausted", detailCode: "job_too_large" });
    expect(clipzyFailure(error)).toEqual({ status: 413, code: "JOB_TOO_LARGE", detail: error.message });
    expect(clipzyErrorBody(clipzyFailure(error))).toMatchObject({ success: false, error: { code: "JOB_TOO_LARGE" } });
    expect(vtkError(error, "req_1")).toMatchObject({ code: "job_too_large", limit: MAX_JOB_BYTES });
  });
});
