import { describe, expect, it } from "vitest";
import { type Effect, type Reply, createJob, step, wakeAt } from "../../worker/jobs/machine";
import { upgradeStoredJob } from "../../worker/jobs/stored-job";
import { T0, TOKEN, columns, config, context, encoderEvent, fixture, rows, spec } from "./machine-fixtures";

/**
 * Every (state, event) cell of the job machine: the status it leads to, the effects it
 * asks for (in order) and its reply. Rows are the statuses (pending before and during
 * its first send); columns are every event the machine takes (machine-fixtures.ts).
 */
type Cell = [status: string, effects: string, reply: string];
const table: Record<string, Record<string, Cell>> = {
  "pending:wanted": {
    "cancel": ["canceled", "index webhook:job.canceled", "-"],
    "confirm": ["pending", "", "invalid_state"],
    "restart": ["pending", "", "invalid_state"],
    "message(current)": ["pending", "send_order:1", "dispatch:accepted"],
    "message(current, send in flight)": ["pending", "send_order:1", "dispatch:accepted"],
    "message(old)": ["pending", "", "dispatch:stale"],
    "result:accepted": ["pending", "", "dispatch:stale"],
    "result:busy": ["pending", "", "dispatch:stale"],
    "result:unreachable": ["pending", "", "dispatch:stale"],
    "result:rejected": ["pending", "", "dispatch:stale"],
    "result:error": ["pending", "", "dispatch:stale"],
    "result:undispatchable": ["pending", "", "dispatch:stale"],
    "event:import_started": ["pending", "", "409:cancel"],
    "event:probe_completed": ["pending", "", "409:cancel"],
    "event:job_completed": ["pending", "", "409:cancel"],
    "event:failed": ["pending", "", "409:cancel"],
    "event:heartbeat": ["pending", "", "409:cancel"],
    "event:replayed": ["pending", "", "409:cancel"],
    "event:task_log": ["pending", "", "409:cancel"],
    "event:output_completed": ["pending", "", "409:cancel"],
    "event:wrong_token": ["pending", "", "409:cancel"],
    "alarm(nothing due)": ["pending", "", "-"],
    "alarm(dispatch due)": ["pending", "send_order:1", "-"],
    "alarm(lease expired)": ["pending", "send_order:1", "-"],
    "alarm(deadline)": ["failed", "index webhook:job.failed", "-"],
    "progress": ["pending", "index", "-"],
    "expire_outputs": ["pending", "", "expired:false"],
  },
  "pending:sending": {
    "cancel": ["canceled", "index webhook:job.canceled cancel_encoder", "-"],
    "confirm": ["pending", "", "invalid_state"],
    "restart": ["pending", "", "invalid_state"],
    "message(current)": ["pending", "send_order:1", "dispatch:accepted"],
    "message(current, send in flight)": ["pending", "", "dispatch:duplicate"],
    "message(old)": ["pending", "", "dispatch:stale"],
    "result:accepted": ["pending", "", "dispatch:accepted"],
    "result:busy": ["pending", "", "dispatch:busy"],
    "result:unreachable": ["pending", "", "dispatch:unreachable"],
    "result:rejected": ["failed", "index webhook:job.failed", "dispatch:failed"],
    "result:error": ["pending", "", "dispatch:retry"],
    "result:undispatchable": ["failed", "index webhook:job.failed", "dispatch:failed"],
    "event:import_started": ["probing", "index", "200:continue"],
    "event:probe_completed": ["pending", "index", "200:continue"],
    "event:job_completed": ["failed", "index webhook:job.failed", "200:cancel"],
    "event:failed": ["failed", "index webhook:job.failed", "200:cancel"],
    "event:heartbeat": ["pending", "", "200:continue"],
    "event:replayed": ["pending", "", "200:continue"],
    "event:task_log": ["pending", "", "200:continue"],
    "event:output_completed": ["pending", "index", "200:continue"],
    "event:wrong_token": ["pending", "", "409:cancel"],
    "alarm(nothing due)": ["pending", "", "-"],
    "alarm(dispatch due)": ["pending", "", "-"],
    "alarm(lease expired)": ["pending", "send_order:1", "-"],
    "alarm(deadline)": ["failed", "index webhook:job.failed cancel_encoder", "-"],
    "progress": ["pending", "index", "-"],
    "expire_outputs": ["pending", "", "expired:false"],
  },
  "probing": {
    "cancel": ["canceled", "index webhook:job.canceled cancel_encoder", "-"],
    "confirm": ["probing", "", "invalid_state"],
    "restart": ["probing", "", "invalid_state"],
    "message(current)": ["probing", "", "dispatch:duplicate"],
    "message(current, send in flight)": ["probing", "", "dispatch:duplicate"],
    "message(old)": ["probing", "", "dispatch:stale"],
    "result:accepted": ["probing", "", "dispatch:stale"],
    "result:busy": ["probing", "", "dispatch:stale"],
    "result:unreachable": ["probing", "", "dispatch:stale"],
    "result:rejected": ["probing", "", "dispatch:stale"],
    "result:error": ["probing", "", "dispatch:stale"],
    "result:undispatchable": ["probing", "", "dispatch:stale"],
    "event:import_started": ["probing", "index", "200:continue"],
    "event:probe_completed": ["processing", "index", "200:continue"],
    "event:job_completed": ["failed", "index webhook:job.failed", "200:cancel"],
    "event:failed": ["failed", "index webhook:job.failed", "200:cancel"],
    "event:heartbeat": ["probing", "", "200:continue"],
    "event:replayed": ["probing", "", "200:continue"],
    "event:task_log": ["probing", "", "200:continue"],
    "event:output_completed": ["probing", "index", "200:continue"],
    "event:wrong_token": ["probing", "", "409:cancel"],
    "alarm(nothing due)": ["probing", "", "-"],
    "alarm(dispatch due)": ["probing", "", "-"],
    "alarm(lease expired)": ["pending", "enqueue:2 index", "-"],
    "alarm(deadline)": ["failed", "index webhook:job.failed cancel_encoder", "-"],
    "progress": ["probing", "index", "-"],
    "expire_outputs": ["probing", "", "expired:false"],
  },
  "awaiting_confirmation": {
    "cancel": ["canceled", "index webhook:job.canceled", "-"],
    "confirm": ["processing", "enqueue:2 index", "-"],
    "restart": ["awaiting_confirmation", "", "invalid_state"],
    "message(current)": ["awaiting_confirmation", "", "dispatch:stale"],
    "message(current, send in flight)": ["awaiting_confirmation", "", "dispatch:stale"],
    "message(old)": ["awaiting_confirmation", "", "dispatch:stale"],
    "result:accepted": ["awaiting_confirmation", "", "dispatch:stale"],
    "result:busy": ["awaiting_confirmation", "", "dispatch:stale"],
    "result:unreachable": ["awaiting_confirmation", "", "dispatch:stale"],
    "result:rejected": ["awaiting_confirmation", "", "dispatch:stale"],
    "result:error": ["awaiting_confirmation", "", "dispatch:stale"],
    "result:undispatchable": ["awaiting_confirmation", "", "dispatch:stale"],
    "event:import_started": ["awaiting_confirmation", "", "409:cancel"],
    "event:probe_completed": ["awaiting_confirmation", "", "409:cancel"],
    "event:job_completed": ["awaiting_confirmation", "", "409:cancel"],
    "event:failed": ["awaiting_confirmation", "", "409:cancel"],
    "event:heartbeat": ["awaiting_confirmation", "", "409:cancel"],
    "event:replayed": ["awaiting_confirmation", "", "409:cancel"],
    "event:task_log": ["awaiting_confirmation", "", "409:cancel"],
    "event:output_completed": ["awaiting_confirmation", "", "409:cancel"],
    "event:wrong_token": ["awaiting_confirmation", "", "409:cancel"],
    "alarm(nothing due)": ["awaiting_confirmation", "", "-"],
    "alarm(dispatch due)": ["awaiting_confirmation", "", "-"],
    "alarm(lease expired)": ["awaiting_confirmation", "", "-"],
    "alarm(deadline)": ["awaiting_confirmation", "", "-"],
    "progress": ["awaiting_confirmation", "index", "-"],
    "expire_outputs": ["awaiting_confirmation", "", "expired:false"],
  },
  "processing": {
    "cancel": ["canceled", "index webhook:job.canceled cancel_encoder", "-"],
    "confirm": ["processing", "", "invalid_state"],
    "restart": ["processing", "", "invalid_state"],
    "message(current)": ["processing", "", "dispatch:duplicate"],
    "message(current, send in flight)": ["processing", "", "dispatch:duplicate"],
    "message(old)": ["processing", "", "dispatch:stale"],
    "result:accepted": ["processing", "", "dispatch:stale"],
    "result:busy": ["processing", "", "dispatch:stale"],
    "result:unreachable": ["processing", "", "dispatch:stale"],
    "result:rejected": ["processing", "", "dispatch:stale"],
    "result:error": ["processing", "", "dispatch:stale"],
    "result:undispatchable": ["processing", "", "dispatch:stale"],
    "event:import_started": ["processing", "index", "200:continue"],
    "event:probe_completed": ["processing", "index", "200:continue"],
    "event:job_completed": ["failed", "index webhook:job.failed", "200:cancel"],
    "event:failed": ["failed", "index webhook:job.failed", "200:cancel"],
    "event:heartbeat": ["processing", "", "200:continue"],
    "event:replayed": ["processing", "", "200:continue"],
    "event:task_log": ["processing", "", "200:continue"],
    "event:output_completed": ["processing", "index", "200:continue"],
    "event:wrong_token": ["processing", "", "409:cancel"],
    "alarm(nothing due)": ["processing", "", "-"],
    "alarm(dispatch due)": ["processing", "", "-"],
    "alarm(lease expired)": ["pending", "enqueue:2 index", "-"],
    "alarm(deadline)": ["failed", "index webhook:job.failed cancel_encoder", "-"],
    "progress": ["processing", "index", "-"],
    "expire_outputs": ["processing", "", "expired:false"],
  },
  "completed": {
    "cancel": ["completed", "", "invalid_state"],
    "confirm": ["completed", "", "invalid_state"],
    "restart": ["pending", "enqueue:2 clear_logs index", "-"],
    "message(current)": ["completed", "", "dispatch:stale"],
    "message(current, send in flight)": ["completed", "", "dispatch:stale"],
    "message(old)": ["completed", "", "dispatch:stale"],
    "result:accepted": ["completed", "", "dispatch:stale"],
    "result:busy": ["completed", "", "dispatch:stale"],
    "result:unreachable": ["completed", "", "dispatch:stale"],
    "result:rejected": ["completed", "", "dispatch:stale"],
    "result:error": ["completed", "", "dispatch:stale"],
    "result:undispatchable": ["completed", "", "dispatch:stale"],
    "event:import_started": ["completed", "", "409:cancel"],
    "event:probe_completed": ["completed", "", "409:cancel"],
    "event:job_completed": ["completed", "", "409:cancel"],
    "event:failed": ["completed", "", "409:cancel"],
    "event:heartbeat": ["completed", "", "409:cancel"],
    "event:replayed": ["completed", "", "409:cancel"],
    "event:task_log": ["completed", "", "409:cancel"],
    "event:output_completed": ["completed", "", "409:cancel"],
    "event:wrong_token": ["completed", "", "409:cancel"],
    "alarm(nothing due)": ["completed", "", "-"],
    "alarm(dispatch due)": ["completed", "", "-"],
    "alarm(lease expired)": ["completed", "", "-"],
    "alarm(deadline)": ["completed", "", "-"],
    "progress": ["completed", "", "-"],
    "expire_outputs": ["completed", "index", "expired:true"],
  },
  "failed": {
    "cancel": ["failed", "", "invalid_state"],
    "confirm": ["failed", "", "invalid_state"],
    "restart": ["pending", "enqueue:2 clear_logs index", "-"],
    "message(current)": ["failed", "", "dispatch:stale"],
    "message(current, send in flight)": ["failed", "", "dispatch:stale"],
    "message(old)": ["failed", "", "dispatch:stale"],
    "result:accepted": ["failed", "", "dispatch:stale"],
    "result:busy": ["failed", "", "dispatch:stale"],
    "result:unreachable": ["failed", "", "dispatch:stale"],
    "result:rejected": ["failed", "", "dispatch:stale"],
    "result:error": ["failed", "", "dispatch:stale"],
    "result:undispatchable": ["failed", "", "dispatch:stale"],
    "event:import_started": ["failed", "", "409:cancel"],
    "event:probe_completed": ["failed", "", "409:cancel"],
    "event:job_completed": ["failed", "", "409:cancel"],
    "event:failed": ["failed", "", "409:cancel"],
    "event:heartbeat": ["failed", "", "409:cancel"],
    "event:replayed": ["failed", "", "409:cancel"],
    "event:task_log": ["failed", "", "409:cancel"],
    "event:output_completed": ["failed", "", "409:cancel"],
    "event:wrong_token": ["failed", "", "409:cancel"],
    "alarm(nothing due)": ["failed", "", "-"],
    "alarm(dispatch due)": ["failed", "", "-"],
    "alarm(lease expired)": ["failed", "", "-"],
    "alarm(deadline)": ["failed", "", "-"],
    "progress": ["failed", "", "-"],
    "expire_outputs": ["failed", "", "expired:true"],
  },
  "canceled": {
    "cancel": ["canceled", "", "invalid_state"],
    "confirm": ["canceled", "", "invalid_state"],
    "restart": ["pending", "enqueue:2 clear_logs index", "-"],
    "message(current)": ["canceled", "", "dispatch:stale"],
    "message(current, send in flight)": ["canceled", "", "dispatch:stale"],
    "message(old)": ["canceled", "", "dispatch:stale"],
    "result:accepted": ["canceled", "", "dispatch:stale"],
    "result:busy": ["canceled", "", "dispatch:stale"],
    "result:unreachable": ["canceled", "", "dispatch:stale"],
    "result:rejected": ["canceled", "", "dispatch:stale"],
    "result:error": ["canceled", "", "dispatch:stale"],
    "result:undispatchable": ["canceled", "", "dispatch:stale"],
    "event:import_started": ["canceled", "", "409:cancel"],
    "event:probe_completed": ["canceled", "", "409:cancel"],
    "event:job_completed": ["canceled", "", "409:cancel"],
    "event:failed": ["canceled", "", "409:cancel"],
    "event:heartbeat": ["canceled", "", "409:cancel"],
    "event:replayed": ["canceled", "", "409:cancel"],
    "event:task_log": ["canceled", "", "409:cancel"],
    "event:output_completed": ["canceled", "", "409:cancel"],
    "event:wrong_token": ["canceled", "", "409:cancel"],
    "alarm(nothing due)": ["canceled", "", "-"],
    "alarm(dispatch due)": ["canceled", "", "-"],
    "alarm(lease expired)": ["canceled", "", "-"],
    "alarm(deadline)": ["canceled", "", "-"],
    "progress": ["canceled", "", "-"],
    "expire_outputs": ["canceled", "", "expired:true"],
  },
  "partial": {
    "cancel": ["partial", "", "invalid_state"],
    "confirm": ["partial", "", "invalid_state"],
    "restart": ["pending", "enqueue:2 clear_logs index", "-"],
    "message(current)": ["partial", "", "dispatch:stale"],
    "message(current, send in flight)": ["partial", "", "dispatch:stale"],
    "message(old)": ["partial", "", "dispatch:stale"],
    "result:accepted": ["partial", "", "dispatch:stale"],
    "result:busy": ["partial", "", "dispatch:stale"],
    "result:unreachable": ["partial", "", "dispatch:stale"],
    "result:rejected": ["partial", "", "dispatch:stale"],
    "result:error": ["partial", "", "dispatch:stale"],
    "result:undispatchable": ["partial", "", "dispatch:stale"],
    "event:import_started": ["partial", "", "409:cancel"],
    "event:probe_completed": ["partial", "", "409:cancel"],
    "event:job_completed": ["partial", "", "409:cancel"],
    "event:failed": ["partial", "", "409:cancel"],
    "event:heartbeat": ["partial", "", "409:cancel"],
    "event:replayed": ["partial", "", "409:cancel"],
    "event:task_log": ["partial", "", "409:cancel"],
    "event:output_completed": ["partial", "", "409:cancel"],
    "event:wrong_token": ["partial", "", "409:cancel"],
    "alarm(nothing due)": ["partial", "", "-"],
    "alarm(dispatch due)": ["partial", "", "-"],
    "alarm(lease expired)": ["partial", "", "-"],
    "alarm(deadline)": ["partial", "", "-"],
    "progress": ["partial", "", "-"],
    "expire_outputs": ["partial", "index", "expired:true"],
  },
};

const effectName = (e: Effect) =>
  e.type === "webhook" ? `webhook:${e.event}` : e.type === "enqueue" || e.type === "send_order" ? `${e.type}:${e.attempt}` : e.type;
const replyName = (r: Reply) =>
  r.kind === "dispatch" ? `dispatch:${r.decision}` : r.kind === "encoder" ? `${r.status}:${r.directive}` : r.kind === "expired" ? `expired:${r.expired}` : r.kind === "invalid_state" ? "invalid_state" : "-";

describe("the job machine, cell by cell", () => {
  it("has a cell for every row and column", () => {
    expect(Object.keys(table)).toEqual([...rows]);
    for (const row of rows) expect(Object.keys(table[row]!)).toEqual(Object.keys(columns));
  });

  for (const row of rows) {
    for (const [name, column] of Object.entries(columns)) {
      it(`${row} × ${name}`, () => {
        const before = fixture(row);
        const frozen = structuredClone(before);
        const result = step(before, column.event, context({ now: column.at ?? T0, sending: column.sending ?? false }));
        expect([result.state!.status, result.effects.map(effectName).join(" "), replyName(result.reply)]).toEqual(table[row]![name]);
        // Pure: the state passed in is untouched.
        expect(before).toEqual(frozen);
        // The invariant that keeps jobs from being lost: a job that has not ended and
        // is not waiting for a person always has a time the shell wakes it.
        if (!["completed", "failed", "canceled", "partial", "awaiting_confirmation"].includes(result.state!.status)) {
          expect(wakeAt(result.state!)).not.toBeNull();
        }
      });
    }
  }
});

describe("the job machine's rules", () => {
  const ctx = (now = T0, sending = false) => context({ now, sending });

  it("starts a job with attempt 1, a queue message, and the alarm a grace period behind it", () => {
    const { tasks, outputs } = fixture("pending:wanted");
    const { state: job, effects } = createJob({ id: "job_bbbbbbbbbbbbbbbbbbbb", org_id: "org_1", spec: spec(), request_hash: "h", idempotency_key: null, resubmitted_from: null, tasks, outputs }, T0, config);
    expect(effects.map(effectName)).toEqual(["index", "enqueue:1"]);
    expect(job).toMatchObject({ status: "pending", attempt: 1, lease: null, dispatched_attempt: null, created_at: new Date(T0).toISOString() });
    expect(job.dispatch).toEqual({ attempt: 1, phase: "wanted", next_try_at: T0 + config.queueGraceMs, tries: 0, failures: 0 });
    expect(job.deadline_at).toBe(T0 + config.jobTimeoutMs);
    expect(wakeAt(job)).toBe(T0 + config.queueGraceMs);
  });

  it("claims with a new lease and keeps the token when a cut-short send is made again", () => {
    const claimed = step(fixture("pending:wanted"), { type: "dispatch_message", attempt: 1 }, ctx()).state!;
    expect(claimed.lease).toMatchObject({ attempt: 1, token: "new-token-1", expires_at: T0 + config.leaseTimeoutMs, last_seq: -1 });
    expect(claimed.dispatch).toMatchObject({ phase: "sending", tries: 1, next_try_at: T0 + config.leaseTimeoutMs });
    expect(claimed.dispatched_attempt).toBe(1);
    const resent = step(claimed, { type: "dispatch_message", attempt: 1 }, ctx(T0 + 1000));
    expect(resent.effects.map(effectName)).toEqual(["send_order:1"]);
    expect(resent.state!.lease).toMatchObject({ token: "new-token-1", expires_at: T0 + 1000 + config.leaseTimeoutMs });
    expect(resent.state!.dispatch!.tries).toBe(2);
  });

  it("backs a busy pool off by tier, doubling with every try", () => {
    const delays = (priority: "premium" | "standard" | "economy") => {
      let job = fixture("pending:wanted", spec({ priority }));
      const out: number[] = [];
      for (let i = 0; i < 6; i++) {
        const now = job.dispatch!.next_try_at;
        job = step(job, { type: "alarm" }, ctx(now)).state!;
        job = step(job, { type: "dispatch_result", attempt: 1, outcome: "busy" }, ctx(now)).state!;
        expect(job.lease).toBeNull();
        expect(job.dispatched_attempt).toBeNull();
        out.push((job.dispatch!.next_try_at - now) / 1000);
      }
      return out;
    };
    expect(delays("premium")).toEqual([1, 2, 4, 8, 10, 10]);
    expect(delays("standard")).toEqual([3, 6, 12, 24, 30, 30]);
    expect(delays("economy")).toEqual([10, 20, 40, 80, 120, 120]);
  });

  it("asks now when told a slot came free while backing off a busy pool; otherwise the news changes nothing", () => {
    const ctx = (now = T0) => context({ now });
    let waiting = fixture("pending:wanted");
    waiting = step(waiting, { type: "alarm" }, ctx(waiting.dispatch!.next_try_at)).state!;
    waiting = step(waiting, { type: "dispatch_result", attempt: 1, outcome: "busy" }, ctx(T0)).state!;
    expect(waiting.dispatch!.next_try_at).toBe(T0 + 3000);
    const freed = step(waiting, { type: "slot_freed" }, ctx(T0 + 500));
    expect(freed.state!.dispatch).toMatchObject({ phase: "wanted", next_try_at: T0 + 500 });
    expect(freed.effects).toEqual([]);
    expect(wakeAt(freed.state!)).toBe(T0 + 500);
    // The alarm that follows claims the attempt.
    expect(step(freed.state!, { type: "alarm" }, ctx(T0 + 500)).effects.map(effectName)).toEqual(["send_order:1"]);
    // A send in flight, a job on the pool and an ended job are left as they are.
    const sending = step(waiting, { type: "alarm" }, ctx(T0 + 3000)).state!;
    for (const job of [sending, fixture("processing"), fixture("completed")]) expect(step(job, { type: "slot_freed" }, ctx(T0 + 4000)).state).toEqual(job);
  });

  it("keeps trying a busy pool for as long as it stays busy: no retry budget runs out, only the job's deadline", () => {
    let job = fixture("pending:wanted");
    job.deadline_at = T0 + 30 * 86_400_000;
    for (let i = 0; i < 500; i++) {
      const now = job.dispatch!.next_try_at;
      const claimed = step(job, { type: "alarm" }, ctx(now));
      expect(claimed.effects.map(effectName)).toEqual(["send_order:1"]);
      job = step(claimed.state!, { type: "dispatch_result", attempt: 1, outcome: "busy" }, ctx(now)).state!;
    }
    expect(job.status).toBe("pending");
    expect(job.dispatch!.next_try_at - T0).toBeGreaterThan(4 * 3600_000);
    expect(wakeAt(job)).not.toBeNull();
    const late = step(job, { type: "alarm" }, ctx(job.deadline_at!));
    expect(late.state).toMatchObject({ status: "failed", error: { code: "job_timeout" } });
  });

  it("tries a failed send again later, and fails the job with dispatch_failed after six in a row", () => {
    let job = fixture("pending:wanted");
    const waits: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const now = job.dispatch!.next_try_at;
      job = step(job, { type: "alarm" }, ctx(now)).state!;
      const result = step(job, { type: "dispatch_result", attempt: 1, outcome: "error", message: "D1_ERROR" }, ctx(now));
      job = result.state!;
      if (i < 6) {
        expect(replyName(result.reply)).toBe("dispatch:retry");
        waits.push((job.dispatch!.next_try_at - now) / 1000);
      }
    }
    expect(waits).toEqual([2, 4, 8, 16, 32]);
    expect(job).toMatchObject({ status: "failed", error: { code: "dispatch_failed" }, lease: null, dispatch: null });
  });

  it("drops a send's late answer once an event proved the encoder holds the order", () => {
    let job = step(fixture("pending:wanted"), { type: "dispatch_message", attempt: 1 }, ctx()).state!;
    const started = step(job, { type: "encoder_event", event: encoderEvent({ type: "task_started", stage: "import", task_id: null }, 0), token: job.lease!.token }, ctx());
    job = started.state!;
    expect(job.dispatch).toBeNull();
    expect(job.status).toBe("probing");
    expect(replyName(step(job, { type: "dispatch_result", attempt: 1, outcome: "busy" }, ctx()).reply)).toBe("dispatch:stale");
  });

  it("applies an encoder event once, extends the lease, and refuses another attempt's", () => {
    const job = fixture("processing");
    const event = encoderEvent({ type: "progress", stage: "encode", task_id: null, task_progress: 50, job_progress: 70 }, 4);
    const once = step(job, { type: "encoder_event", event, token: TOKEN }, ctx(T0 + 5000)).state!;
    expect(once.progress).toBe(70);
    expect(once.lease).toMatchObject({ last_seq: 4, expires_at: T0 + 5000 + config.leaseTimeoutMs });
    const again = step(once, { type: "encoder_event", event: { ...event, job_progress: 90 } as typeof event, token: TOKEN }, ctx(T0 + 6000));
    expect(again.state!.progress).toBe(70);
    expect(again.effects).toEqual([]);
    const other = step(once, { type: "encoder_event", event: { ...event, attempt: 2 } as typeof event, token: TOKEN }, ctx());
    expect(replyName(other.reply)).toBe("409:cancel");
  });

  it("gives up with encoder_lost after maxAttempts lost attempts, charging the lost runs", () => {
    let job = fixture("processing");
    job.execution.running["task_x"] = T0;
    for (let lost = 1; lost <= 3; lost++) {
      const now = job.lease!.expires_at;
      job = step(job, { type: "alarm" }, ctx(now)).state!;
      expect(job.lost_attempts).toBe(lost);
      if (lost < 3) {
        expect(job).toMatchObject({ status: "pending", attempt: lost + 1, lease: null });
        job = step(job, { type: "dispatch_message", attempt: job.attempt }, ctx(now)).state!;
        job = step(job, { type: "dispatch_result", attempt: job.attempt, outcome: "accepted" }, ctx(now)).state!;
      }
    }
    expect(job).toMatchObject({ status: "failed", error: { code: "encoder_lost" } });
    expect(job.execution.compute_ms["task_x"]).toBe(10_000);
  });

  it("fails a job past its deadline with job_timeout and stops its encoder", () => {
    const result = step(fixture("processing"), { type: "alarm" }, ctx(T0 + 1_000_000));
    expect(result.state).toMatchObject({ status: "failed", error: { code: "job_timeout" }, lease: null, deadline_at: null });
    expect(result.effects.map(effectName)).toContain("cancel_encoder");
  });

  it("stops the clock while a delayed start waits for confirmation, and starts it again at confirm", () => {
    const delayed = spec({ delayed_start: true });
    let job = fixture("probing", delayed);
    job = step(job, { type: "encoder_event", event: encoderEvent({ type: "task_completed", stage: "probe", task_id: null, output: null }), token: TOKEN }, ctx()).state!;
    expect(job).toMatchObject({ status: "awaiting_confirmation", lease: null, dispatch: null, deadline_at: null });
    expect(wakeAt(job)).toBeNull();
    job = step(job, { type: "action", action: "confirm" }, ctx(T0 + 86_400_000)).state!;
    expect(job).toMatchObject({ status: "processing", attempt: 2, deadline_at: T0 + 86_400_000 + config.jobTimeoutMs });
    expect(job.dispatch).toMatchObject({ attempt: 2, phase: "wanted" });
  });

  it("snapshots each webhook's job at its own edge", () => {
    const job = fixture("probing", spec({ webhook_events: ["job.status_changed", "job.failed"] }));
    const result = step(job, { type: "encoder_event", event: encoderEvent({ type: "job_completed" }), token: TOKEN }, ctx());
    const hooks = result.effects.filter((e): e is Extract<Effect, { type: "webhook" }> => e.type === "webhook");
    expect(hooks.map((e) => [e.event, e.job.status, e.job.error?.code])).toEqual([
      ["job.status_changed", "failed", "encode_failed"],
      ["job.failed", "failed", "encode_failed"],
    ]);
  });

  it("gives a job stored before the machine existed a dispatch when it still needs one", () => {
    const old = fixture("pending:wanted") as unknown as Record<string, unknown>;
    delete old.dispatch;
    delete old.deadline_at;
    const upgraded = upgradeStoredJob(old as never, T0);
    expect(upgraded.dispatch).toMatchObject({ attempt: 1, phase: "wanted", next_try_at: T0 });
    expect(upgraded.deadline_at).toBeNull();
    expect(wakeAt(upgraded)).toBe(T0);
    const running = fixture("processing") as unknown as Record<string, unknown>;
    delete running.dispatch;
    expect(upgradeStoredJob(running as never, T0).dispatch).toBeNull();
  });

  it("gives a package its playable time and master at output_playable, once, keeps it at completion and forgets it at restart", () => {
    const job = fixture("processing", spec({ kind: "adaptive_video", options: { format: "hls" } }));
    const task = job.tasks.find((t) => t.kind === "adaptive_video")!;
    const output = job.outputs[0]!;
    Object.assign(task, { status: "running" });
    Object.assign(output, { status: "processing" });
    const main = `${output.id}/master.m3u8`;
    const playable = (seq: number, body: Record<string, unknown> = {}) =>
      encoderEvent({ type: "output_playable", task_id: task.id, output_id: output.id, main, ...body }, seq);
    const played = step(job, { type: "encoder_event", event: playable(4), token: TOKEN }, ctx(T0 + 1000)).state!;
    expect(played.outputs[0]).toMatchObject({ status: "processing", playable_at: new Date(T0 + 1000).toISOString(), main_key: `jobs/${job.id}/${main}` });
    expect(played.status).toBe("processing");
    // Once: a later word (another attempt's publish) keeps the first moment.
    const again = step(played, { type: "encoder_event", event: playable(5), token: TOKEN }, ctx(T0 + 2000)).state!;
    expect(again.outputs[0]!.playable_at).toBe(new Date(T0 + 1000).toISOString());
    // Another task's word about this output changes nothing.
    const stray = step(job, { type: "encoder_event", event: playable(4, { task_id: job.tasks[0]!.id }), token: TOKEN }, ctx()).state!;
    expect(stray.outputs[0]!.playable_at ?? null).toBeNull();
    const failed = step(job, { type: "encoder_event", event: playable(4), token: TOKEN }, ctx()).state!;
    const restarted = step({ ...failed, status: "failed", lease: null }, { type: "action", action: "restart" }, ctx()).state!;
    expect(restarted.outputs[0]).toMatchObject({ status: "pending", playable_at: null, main_key: null });
  });

  it("asks for a log line's task to keep it, and for a restart to start the logs afresh", () => {
    const job = fixture("processing");
    const lines = [{ at: new Date(T0).toISOString(), text: "frame=  10 fps=0.0" }];
    const logged = step(job, { type: "encoder_event", event: encoderEvent({ type: "task_log", task_id: job.tasks[2]!.id, lines }), token: TOKEN }, ctx());
    expect(logged.effects).toEqual([{ type: "append_log", task_id: job.tasks[2]!.id, lines }]);
    expect(logged.state!.updated_at).toBe(job.updated_at);
    const unknown = step(job, { type: "encoder_event", event: encoderEvent({ type: "task_log", task_id: "task_nope", lines }), token: TOKEN }, ctx());
    expect(unknown.effects).toEqual([]);
  });
});
