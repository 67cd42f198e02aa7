import { describe, expect, it } from "vitest";
import type { JobStatus } from "../../worker/jobs/model";
import { type JobAction, jobActions, nextStatus } from "../../worker/jobs/transitions";
import { call, jobDO, seedOrg, videoJob } from "./helpers";

/**
 * The expected state machine, written out independently of worker/jobs/transitions.ts:
 * one row per status, one column per action, "-" where the action is illegal.
 */
const columns = ["start_probe", "start_processing", "await_confirmation", "confirm", "complete", "complete_partially", "fail", "cancel", "restart", "requeue"] as const;
const expected: Record<JobStatus, string[]> = {
  //                     start_probe start_processing  await_confirmation        confirm       complete     complete_partially fail     cancel      restart    requeue
  pending:               ["probing", "-",              "-",                      "-",          "-",         "-",               "failed", "canceled", "-",       "-"],
  probing:               ["-",       "processing",     "awaiting_confirmation",  "-",          "-",         "-",               "failed", "canceled", "-",       "pending"],
  awaiting_confirmation: ["-",       "-",              "-",                      "processing", "-",         "-",               "failed", "canceled", "-",       "-"],
  processing:            ["-",       "-",              "-",                      "-",          "completed", "partial",         "failed", "canceled", "-",       "pending"],
  completed:             ["-",       "-",              "-",                      "-",          "-",         "-",               "-",      "-",        "pending", "-"],
  failed:                ["-",       "-",              "-",                      "-",          "-",         "-",               "-",      "-",        "pending", "-"],
  canceled:              ["-",       "-",              "-",                      "-",          "-",         "-",               "-",      "-",        "pending", "-"],
  partial:               ["-",       "-",              "-",                      "-",          "-",         "-",               "-",      "-",        "pending", "-"],
};

const cells = (Object.keys(expected) as JobStatus[]).flatMap((status) =>
  columns.map((action, i) => [status, action, expected[status][i]!] as const),
);

describe("transition table", () => {
  it("names every action", () => {
    expect([...jobActions].sort()).toEqual([...columns].sort());
  });

  it.each(cells)("%s --%s--> %s", (status, action, to) => {
    expect(nextStatus(status, action)).toBe(to === "-" ? null : to);
  });
});

/** Walks a fresh job through the DO's own transitions to `status`. */
async function jobIn(status: JobStatus) {
  const { key } = await seedOrg();
  const created = await call("/v1/jobs", { key, body: videoJob({ delayed_start: status === "awaiting_confirmation" }) });
  const stub = jobDO(created.json.id);
  const paths: Record<JobStatus, JobAction[]> = {
    pending: [],
    probing: ["start_probe"],
    awaiting_confirmation: ["start_probe", "await_confirmation"],
    processing: ["start_probe", "start_processing"],
    completed: ["start_probe", "start_processing", "complete"],
    failed: ["start_probe", "fail"],
    canceled: ["cancel"],
    partial: ["start_probe", "start_processing", "complete_partially"],
  };
  for (const action of paths[status]) {
    const outcome = await stub.transition(action);
    expect(outcome && outcome.ok, `${action} on the way to ${status}`).toBe(true);
  }
  return { key, id: created.json.id as string };
}

const userActions = ["cancel", "confirm", "restart"] as const;
const apiCells = (Object.keys(expected) as JobStatus[]).flatMap((status) =>
  userActions.map((action) => [status, action, expected[status][columns.indexOf(action)]!] as const),
);

describe("job actions over the API", () => {
  it.each(apiCells)("%s + POST /%s → %s", async (status, action, to) => {
    const { key, id } = await jobIn(status);
    const res = await call(`/v1/jobs/${id}/${action}`, { key, method: "POST" });
    if (to === "-") {
      expect(res.status).toBe(409);
      expect(res.json.error.code).toBe("invalid_state");
      expect(res.json.error.details).toEqual({ status });
      expect((await call(`/v1/jobs/${id}`, { key })).json.status).toBe(status);
    } else {
      expect(res.status).toBe(200);
      expect(res.json.status).toBe(to);
      expect((await call(`/v1/jobs/${id}`, { key })).json.status).toBe(to);
    }
  });
});
