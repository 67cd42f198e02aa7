import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ToolsOrder, TranscodeOrder } from "../../encoder/contract";
import type { JobDO } from "../../worker/jobs/job-do";
import type { JobState } from "../../worker/jobs/job-state";
import { call, jobDO, orderNumber, ordersFor, seedOrg, videoJob } from "./helpers";

/*
 * Jobs the JobDO stored before their tasks had a graph (engine, inputs, outputs,
 * depends_on) and before tool locations were resolved: loaded by a fresh instance over
 * the same storage (what a restarted object does), then dispatched.
 */

type Stored = Omit<JobState, "tasks"> & { tasks: Record<string, unknown>[] };

/** Rewrites the stored job as an older Worker wrote it, loads it afresh and dispatches its next attempt. */
async function reloadAndDispatch(jobId: string, older: (job: Stored) => Stored) {
  return runInDurableObject(jobDO(jobId), async (instance, state) => {
    const job = JSON.parse(state.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'").one().body) as Stored;
    const rewritten = older({
      ...job,
      tasks: job.tasks.map(({ engine: _e, inputs: _i, outputs: _o, depends_on: _d, ...task }) => task),
      status: "pending",
      attempt: 2,
      dispatched_attempt: null,
      lease: null,
    });
    // Nor had it the machine's dispatch and deadline.
    const { execution: _marks, dispatch: _dispatch, deadline_at: _deadline, ...withoutMarks } = rewritten;
    state.storage.sql.exec("UPDATE doc SET body = ? WHERE name = 'job'", JSON.stringify(withoutMarks));
    const reloaded = new (instance.constructor as new (ctx: DurableObjectState, e: typeof env) => JobDO)(state, env);
    const decision = await reloaded.receiveDispatch({ v: 1, job_id: jobId, org_id: job.org_id, attempt: 2, priority: "standard", enqueued_at: new Date().toISOString() });
    return { decision, view: await reloaded.get(job.org_id) };
  });
}

describe("a job stored before the task graph", { timeout: 20_000 }, () => {
  it("loads with its graph derived and dispatches the same transcode order", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob({ thumbnails: [{ count: 2 }] }) })).json;
    const first = await orderNumber<TranscodeOrder>(job.id, 1);
    const { decision, view } = await reloadAndDispatch(job.id, (stored) => stored);
    expect(decision).toBe("accepted");
    // Derived as planned: the very tasks the job was created with.
    expect(view!.tasks).toEqual(job.tasks);
    const second = await orderNumber<TranscodeOrder>(job.id, 2);
    expect(second.attempt).toBe(2);
    expect(second.tasks).toEqual(first.tasks);
  });

  it("gives a tool pipeline with an input the step that fetches it", async () => {
    const { key } = await seedOrg();
    const tasks = [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "in.mp4", "-frames:v", "1", "still.png"] } }];
    const job = (await call("/v1/jobs", { key, body: { input: "https://media.example.com/in.mp4", tasks } })).json;
    await orderNumber(job.id, 1);
    const { decision, view } = await reloadAndDispatch(job.id, (stored) => ({ ...stored, tasks: stored.tasks.filter((t) => t.kind !== "import") }));
    expect(decision).toBe("accepted");
    const [fetchInput, ffmpeg] = view!.tasks;
    expect(fetchInput).toMatchObject({ kind: "import", engine: "tools", outputs: ["in.mp4"] });
    expect(ffmpeg).toMatchObject({ id: job.tasks[1].id, depends_on: [fetchInput!.id] });
    const order = await orderNumber<ToolsOrder>(job.id, 2);
    expect(order.steps.map((s) => [s.tool, s.task_id])).toEqual([
      ["storage:get", fetchInput!.id],
      ["ffmpeg:cmd", ffmpeg!.id],
    ]);
  });

  it("fails a tool pipeline whose locations were never resolved, before anything runs", async () => {
    const { key } = await seedOrg();
    const tasks = [{ tool: "storage:get", parameters: { location: "gs://{nobody}@old-bucket/in/", files: ["a.mov"] } }];
    const secret = await call("/v1/secrets", { key, body: { name: "nobody", credentials: { access_key_id: "AKIAOLDJOB", secret_access_key: "old-job-secret" } } });
    expect(secret.status).toBe(201);
    const job = (await call("/v1/jobs", { key, body: { tasks } })).json;
    await orderNumber(job.id, 1);
    const { decision, view } = await reloadAndDispatch(job.id, (stored) => ({ ...stored, spec: { ...stored.spec, storage: { input: null, output: null } } }));
    expect(decision).toBe("failed");
    expect(view).toMatchObject({ status: "failed", error: { code: "location_unresolved" } });
    expect(await ordersFor(job.id)).toHaveLength(1);
  });
});
