import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { EncodeSpec, EncoderEvent } from "../../encoder/contract";
import { clipPath } from "./clips";
import { encoderSuite } from "./encoder-suite";

// Three job slots on one core: jobs are taken beyond the cores, their ffmpeg runs are not.
const suite = encoderSuite("cores", () => ({ "landscape.mp4": clipPath("landscape") }), { concurrency: 3, cores: 1 });
const terminal = (jobId: string) => suite.sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)));

/** ffmpeg processes working in this file's work root now (ffprobes and the encoder itself excluded). */
function ffmpegRunning(): number {
  let n = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(suite.workDir) && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "ffmpeg") n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

interface Health {
  slots: { busy: number; free: number; total: number };
  cores: { busy: number; waiting: number; total: number };
}
const health = async () => (await (await fetch(`${suite.encoder.base}/health`)).json()) as Health;

const order = (id: string, spec: EncodeSpec) => suite.sink.order(id, suite.media.url("landscape.mp4"), [{ task_id: "t", output_id: `o_${id}`, spec }]);
const video: EncodeSpec = { kind: "video", format: "mp4", codec: "h264", quality: "medium" };
const slow: EncodeSpec = { kind: "video", format: "mp4", codec: "h265", quality: "very_high" };

describe("encoder cores", { timeout: 120_000 }, () => {
  it("takes more jobs than it has cores and runs one ffmpeg per core, the others waiting their turn", async () => {
    const ids = ["job_core_1", "job_core_2", "job_core_3"];
    for (const id of ids) expect((await suite.encoder.call("POST", "/work", order(id, id === "job_core_2" ? { kind: "thumbnail", format: "jpeg", frames: { mode: "times", times: [{ seconds: 0 }, { seconds: 1 }] } } : video))).status).toBe(202);
    expect((await suite.encoder.call("POST", "/work", order("job_core_4", video))).status).toBe(429);

    let most = 0;
    let sawWaiting: Health | null = null;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, ffmpegRunning());
        const h = await health();
        if (h.cores.waiting > 0) sawWaiting ??= h;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const ends = await Promise.all(ids.map(terminal)).finally(() => (sampling = false));
    await sampler;

    for (const end of ends) expect(end.type, JSON.stringify(end)).toBe("job_completed");
    expect(most).toBe(1);
    expect(sawWaiting).toMatchObject({ slots: { total: 3 }, cores: { busy: 1, total: 1 } });
    expect(sawWaiting!.slots.busy).toBeGreaterThan(1);
    await expect.poll(() => suite.encoder.running.size).toBe(0);
    expect(await health()).toMatchObject({ slots: { busy: 0, free: 3 }, cores: { busy: 0, waiting: 0 } });
  });

  it("cancels a job waiting for a core at once, and its place in line goes with it", async () => {
    expect((await suite.encoder.call("POST", "/work", order("job_core_busy", slow))).status).toBe(202);
    await expect.poll(() => suite.encoder.cores.busy, { timeout: 10_000 }).toBe(1);
    expect((await suite.encoder.call("POST", "/work", order("job_core_waiting", video))).status).toBe(202);
    await expect.poll(() => suite.encoder.cores.waiting, { timeout: 10_000 }).toBe(1);

    expect((await suite.encoder.call("DELETE", "/work/job_core_waiting")).status).toBe(200);
    const failed = (await terminal("job_core_waiting")) as Extract<EncoderEvent, { type: "task_failed" }>;
    expect(failed.error.code).toBe("canceled");
    // It never ran: no encode of it started, and the running job still holds the core.
    expect(suite.eventsOf("job_core_waiting").some((e) => e.type === "progress" && e.stage === "encode")).toBe(false);
    expect(suite.encoder.cores).toMatchObject({ busy: 1, waiting: 0 });
    expect(ffmpegRunning()).toBe(1);

    expect((await suite.encoder.call("DELETE", "/work/job_core_busy")).status).toBe(200);
    expect(suite.encoder.cores).toMatchObject({ busy: 0, waiting: 0 });
    expect(ffmpegRunning()).toBe(0);
  });
});
