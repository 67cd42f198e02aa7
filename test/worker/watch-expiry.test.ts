import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { WATCH_TOKEN_TTL_S, mintWatchToken } from "../../worker/auth/watch-token";
import { WATCH_CLOSE } from "../../worker/jobs/watch-hub";
import { call, encoderFor, jobDO, orderNumber, seedOrg, videoJob } from "./helpers";

/**
 * A Watch ends with its credential (issue 17, fix 5b): a socket or stream opened with a
 * watch token is closed when the token expires, and every Watch opened by a key (or by
 * a token minted with it) when the key is revoked; neither gets another event.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string }[];
}

interface Watch {
  events: string[];
  closed: Promise<{ code: number; reason: string }>;
  socket: WebSocket;
}

async function openSocket(path: string, key?: string): Promise<Watch> {
  const res = await exports.default.fetch(new Request(`https://kiln.test${path}`, { headers: { upgrade: "websocket", ...(key ? { authorization: `Bearer ${key}` } : {}) } }));
  expect(res.status).toBe(101);
  const socket = res.webSocket!;
  const events: string[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  socket.addEventListener("message", (e) => events.push((JSON.parse(e.data as string) as { event: string }).event));
  socket.accept();
  return { events, closed, socket };
}

/** A running job and a way to make it news (a new status, then progress). */
async function runningJob(key: string) {
  const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
  const send = encoderFor(await orderNumber<Order>(job.id));
  await send({ type: "task_started", stage: "import", task_id: null });
  let progress = 0;
  return { id: job.id as string, news: () => send({ type: "progress", stage: "import", task_id: null, task_progress: (progress += 10), job_progress: progress }) };
}

/** What `promise` settles to, or a failure when it does not settle within `ms`: a Watch left open fails fast. */
const within = <T>(promise: Promise<T>, ms = 5000) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the watch stayed open")), ms))]);

const settle = () => new Promise((r) => setTimeout(r, 400));

describe("a Watch ends with its credential", () => {
  it("closes a socket and a stream whose watch token expires, at the expiry, and sends them nothing after", async () => {
    const { key, orgId } = await seedOrg();
    const keyId = (await env.DB.prepare("SELECT key_id FROM api_key_organizations WHERE org_id = ?").bind(orgId).first<{ key_id: string }>())!.key_id;
    const job = await runningJob(key);
    // A token minted long enough ago that it has two seconds left.
    const { token } = await mintWatchToken(env, job.id, orgId, keyId, Date.now() - (WATCH_TOKEN_TTL_S - 2) * 1000);
    const expiresMs = (Number(/^wt_(\d+)\./.exec(token)![1]) * 1000);
    const path = `/v1/jobs/${job.id}/watch?token=${encodeURIComponent(token)}`;
    const viaToken = await openSocket(path);
    const stream = await exports.default.fetch(new Request(`https://kiln.test${path}`));
    expect(stream.status).toBe(200);
    const streamText = stream.text();
    const viaKey = await openSocket(`/v1/jobs/${job.id}/watch`, key);

    // The DO's alarm is armed for the token's expiry, not only the next heartbeat.
    const stub = jobDO(job.id);
    const alarmAt = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarmAt).not.toBeNull();
    expect(alarmAt!).toBeLessThanOrEqual(expiresMs);
    await vi.waitFor(async () => expect(Date.now()).toBeGreaterThanOrEqual(expiresMs), { timeout: 5000, interval: 100 });
    // The alarm may already have fired on its own; run it in case it has not.
    await runDurableObjectAlarm(stub);
    expect(await within(viaToken.closed)).toEqual(WATCH_CLOSE.expired);
    await within(streamText);
    const before = viaToken.events.length;
    await job.news();
    await settle();
    expect(viaToken.events).toEqual(["snapshot"].concat(viaToken.events.slice(1, before)));
    expect(viaToken.events).not.toContain("progress");
    // The key's own socket carries on.
    await vi.waitFor(() => expect(viaKey.events).toContain("progress"), { timeout: 3000, interval: 50 });
    viaKey.socket.close();
    console.log(`figures: watch-expiry token socket closed ${WATCH_CLOSE.expired.code} "${WATCH_CLOSE.expired.reason}", 0 events after expiry`);
  }, 30_000);

  it("closes every Watch of a revoked key (its own sockets and streams and its tokens'), refuses its tokens, spares other keys", async () => {
    const { key: admin } = await seedOrg();
    const created = await call("/v1/keys", { key: admin, body: { name: "watcher" } });
    expect(created.status).toBe(201);
    const { id: keyId, secret } = created.json as { id: string; secret: string };
    const job = await runningJob(admin);
    const minted = (await call(`/v1/jobs/${job.id}/watch-token`, { key: secret, method: "POST" })).json;
    const spare = (await call(`/v1/jobs/${job.id}/watch-token`, { key: secret, method: "POST" })).json;
    const direct = await openSocket(`/v1/jobs/${job.id}/watch`, secret);
    const viaToken = await openSocket(`/v1/jobs/${job.id}/watch?token=${encodeURIComponent(minted.token)}`);
    const stream = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { authorization: `Bearer ${secret}` } }));
    const streamText = stream.text();
    const other = await openSocket(`/v1/jobs/${job.id}/watch`, admin);

    expect((await call(`/v1/keys/${keyId}`, { key: admin, method: "DELETE" })).status).toBe(200);
    await job.news();
    expect(await within(direct.closed)).toEqual(WATCH_CLOSE.revoked);
    expect(await within(viaToken.closed)).toEqual(WATCH_CLOSE.revoked);
    const lines = (await within(streamText)).trim().split("\n").map((l) => (JSON.parse(l) as { event: string }).event);
    for (const w of [direct, viaToken]) expect(w.events).toEqual(["snapshot"]);
    expect(lines).toEqual(["snapshot"]);
    await vi.waitFor(() => expect(other.events).toContain("progress"), { timeout: 3000, interval: 50 });

    // A token minted with the key before its revocation no longer opens a Watch.
    const late = await call(`/v1/jobs/${job.id}/watch?token=${encodeURIComponent(spare.token)}`, { headers: { upgrade: "websocket" } });
    expect(late.status).toBe(401);
    expect(late.json.error.code).toBe("token_invalid");
    other.socket.close();
  }, 30_000);

  it("closes a revoked key's socket while the job is busy, though broadcasts go by a recent reading of key standing", async () => {
    const { key: admin } = await seedOrg();
    const created = (await call("/v1/keys", { key: admin, body: { name: "busy" } })).json as { id: string; secret: string };
    const job = await runningJob(admin);
    const revoked = await openSocket(`/v1/jobs/${job.id}/watch`, created.secret);
    const other = await openSocket(`/v1/jobs/${job.id}/watch`, admin);
    // Each news its own broadcast (past the progress debounce), seen by the spared socket.
    const news = async () => {
      const before = other.events.length;
      await job.news();
      await vi.waitFor(() => expect(other.events.length).toBeGreaterThan(before), { timeout: 3000, interval: 20 });
    };
    for (let i = 0; i < 3; i++) await news();
    expect((await call(`/v1/keys/${created.id}`, { key: admin, method: "DELETE" })).status).toBe(200);
    let closed: { code: number; reason: string } | null = null;
    void revoked.closed.then((how) => {
      closed = how;
    });
    // Events keep coming, each within STANDING_TTL_MS of the last: the reading is renewed beside them.
    // (runningJob has news for ten events: three before, seven after.)
    for (let i = 0; i < 7 && closed === null; i++) await news();
    expect(closed).toEqual(WATCH_CLOSE.revoked);
    other.socket.close();
  }, 30_000);

  it("closes a revoked key's socket at the next heartbeat when the job is quiet", async () => {
    const { key: admin } = await seedOrg();
    const created = (await call("/v1/keys", { key: admin, body: { name: "quiet" } })).json as { id: string; secret: string };
    const job = await runningJob(admin);
    const direct = await openSocket(`/v1/jobs/${job.id}/watch`, created.secret);
    expect((await call(`/v1/keys/${created.id}`, { key: admin, method: "DELETE" })).status).toBe(200);
    expect(await runDurableObjectAlarm(jobDO(job.id))).toBe(true);
    expect(await within(direct.closed)).toEqual(WATCH_CLOSE.revoked);
    expect(direct.events).toEqual(["snapshot"]);
  }, 30_000);
});
