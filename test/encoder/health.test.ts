import { execFileSync } from "node:child_process";
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
        warm_probes: { ready: 6, target: 6, taken: 0 },
      });
    } finally {
      warmProbes.close();
    }
  });

  it("is unhealthy (503) when ffmpeg cannot run", async () => {
    const { app, warmProbes } = createEncoderApp({ token, ffmpeg: "/nonexistent/ffmpeg", warmProbes: 0 });
    const res = await app.request("/health");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(false);
    expect(warmProbes.ready).toBe(0);
  });
});
