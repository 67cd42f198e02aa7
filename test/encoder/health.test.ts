import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createEncoderApp } from "../../encoder/app";

const token = "test-token-0123456789";

describe("encoder /health", () => {
  it("reports the version of the ffmpeg it runs and its slots", async () => {
    const { app } = createEncoderApp({ token, concurrency: 3 });
    const res = await app.request("/health");
    expect(res.status).toBe(200);
    const body = await res.json();
    const expected = /^ffmpeg version (\S+)/.exec(execFileSync("ffmpeg", ["-version"], { encoding: "utf8" }))![1];
    expect(body).toMatchObject({ ok: true, service: "kiln-encoder", ffmpeg: expected, slots: { busy: 0, free: 3, total: 3 } });
  });

  it("is unhealthy (503) when ffmpeg cannot run", async () => {
    const { app } = createEncoderApp({ token, ffmpeg: "/nonexistent/ffmpeg" });
    const res = await app.request("/health");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(false);
  });
});
