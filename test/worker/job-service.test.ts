import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createJobRequestSchema } from "../../worker/api/schemas/create-job";
import { type Caller, keyCaller } from "../../worker/auth/caller";
import { type PolicyStatement, fullAccess } from "../../worker/auth/policy";
import { JobService } from "../../worker/jobs/service";
import { seedBareOrg, videoJob } from "./helpers";

// The service is plain code: a test calls it as any front-end does, with a caller of its own.
const callerOf = (orgId: string, statements: PolicyStatement[] = fullAccess): Caller =>
  keyCaller({ keyId: "key_service_test", orgId, orgIds: [orgId], statements });
const serviceFor = (orgId: string, statements?: PolicyStatement[]) => new JobService(env, callerOf(orgId, statements));
const request = (extra: Record<string, unknown> = {}) => createJobRequestSchema.parse(videoJob(extra));

describe("the job service, called directly", () => {
  it("creates, reads, cancels and resubmits a job", async () => {
    const jobs = serviceFor(await seedBareOrg());
    const { job, created } = await jobs.create(request({ tags: ["svc"] }));
    expect(created).toBe(true);
    expect(job).toMatchObject({ object: "job", status: "pending", kind: "video", tags: ["svc"] });
    expect(job.tasks.map((t) => t.kind)).toEqual(["probe", "import", "video", "export"]);

    expect(await jobs.get(job.id)).toMatchObject({ id: job.id, status: "pending" });

    const canceled = await jobs.cancel(job.id);
    expect(canceled.status).toBe("canceled");
    await expect(jobs.confirm(job.id)).rejects.toMatchObject({ status: 409, code: "invalid_state", details: { status: "canceled" } });

    const again = await jobs.resubmit(job.id);
    expect(again.id).not.toBe(job.id);
    expect(again).toMatchObject({ status: "pending", resubmitted_from: job.id, tags: ["svc"] });
    expect((await jobs.get(job.id)).status).toBe("canceled");
  });

  it("answers the first job for a repeated idempotency key and refuses it with another body", async () => {
    const jobs = serviceFor(await seedBareOrg());
    const first = await jobs.create(request({ idempotency_key: "svc-once" }));
    const retry = await jobs.create(request({ idempotency_key: "svc-once" }), { idempotencyKey: "svc-once" });
    expect(first.created).toBe(true);
    expect(retry).toMatchObject({ created: false, job: { id: first.job.id } });
    // The key may come from the transport instead of the body: it names the same job.
    expect((await jobs.create(request(), { idempotencyKey: "svc-once" })).job.id).toBe(first.job.id);

    await expect(jobs.create(request({ idempotency_key: "svc-once", tags: ["other"] }))).rejects.toMatchObject({
      status: 409,
      code: "idempotency_conflict",
    });
    await expect(jobs.create(request({ idempotency_key: "a" }), { idempotencyKey: "b" })).rejects.toMatchObject({
      status: 400,
      code: "validation_error",
    });
  });

  it("does not show another organization's job, and checks the caller's rights first", async () => {
    const orgId = await seedBareOrg();
    const mine = serviceFor(orgId);
    const theirs = serviceFor(await seedBareOrg());
    const { job } = await mine.create(request());
    for (const attempt of [
      () => theirs.get(job.id),
      () => theirs.cancel(job.id),
      () => theirs.restart(job.id),
      () => theirs.resubmit(job.id),
      () => theirs.watchToken(job.id, "https://kiln.test/v1"),
      () => theirs.webhookDeliveries(job.id, 10),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ status: 404, code: "not_found" });
    }
    expect((await theirs.list({ statuses: [], tags: [], search: null, bundle: null, limit: 20, cursor: null })).data).toEqual([]);

    const readOnly = serviceFor(orgId, [{ effect: "allow", actions: ["jobs:get"], resources: ["jobs/*"] }]);
    await expect(readOnly.cancel(job.id)).rejects.toMatchObject({ status: 403, code: "forbidden" });
    await expect(readOnly.list({ statuses: ["nope"], tags: [], search: null, bundle: null, limit: 20, cursor: null })).rejects.toMatchObject({
      status: 403,
      code: "forbidden",
    });
  });

  it("lists with checked filters and mints watch tokens under the front-end's base URL", async () => {
    const orgId = await seedBareOrg();
    const jobs = serviceFor(orgId);
    const { job } = await jobs.create(request({ tags: ["listed"] }));
    await expect(jobs.list({ statuses: ["nope"], tags: [], search: null, bundle: null, limit: 20, cursor: null })).rejects.toMatchObject({
      status: 400,
      code: "validation_error",
    });
    const page = await jobs.list({ statuses: ["pending"], tags: ["LISTED"], search: null, bundle: null, limit: 20, cursor: null });
    expect(page.data.map((j: { id: string }) => j.id)).toEqual([job.id]);

    const minted = await jobs.watchToken(job.id, "https://dialect.example/o/acme/");
    expect(minted.watch_url).toBe(`wss://dialect.example/o/acme/jobs/${job.id}/watch?token=${encodeURIComponent(minted.token)}`);
  });
});
