import { execFileSync } from "node:child_process";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { createEncoderApp } from "../../encoder/app";

const token = "test-token-0123456789";

describe("encoder /health", () => {
  it("reports the version of the ffmpeg it runs, its slots and its ffprobes started ahead", async () => {
    const { app, warmProbes } = createEncoderApp({ token, concurrency: 3 });
    try {
      const res = await app.request("/health");
      expect(res.status).toBe(200);
      const body = await res.json();
      const expected = /^ffmpeg version (\S+)/.exec(execFileSync("ffmpeg", ["-version"], { encoding: "utf8" }))![1];
      expect(body).toMatchObject({
        ok: true,
        service: "kiln-encoder",
        ffmpeg: expected,
        slots: { busy: 0, free: 3, total: 3 },
        cores: { busy: 0, waiting: 0 },
        warm_probes: { ready: 6, target: 6, taken: 0 },
      });
    } finally {
      warmProbes.close();
    }
  });

  it("has a core per CPU and two job slots per core unless told otherwise", async () => {
    const { app, warmProbes } = createEncoderApp({ token, warmProbes: 0 });
    const cpus = os.cpus().length;
    const body = await (await app.request("/health")).json();
    expect(body).toMatchObject({ slots: { busy: 0, free: 2 * cpus, total: 2 * cpus }, cores: { busy: 0, waiting: 0, total: cpus } });
    warmProbes.close();
  });

  it("is unhealthy (503) when ffmpeg cannot run", async () => {
    const { app, warmProbes } = createEncoderApp({ token, ffmpeg: "/nonexistent/ffmpeg", warmProbes: 0 });
    const res = await app.request("/health");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(false);
    expect(warmProbes.ready).toBe(0);
  });
});
