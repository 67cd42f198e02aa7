import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createEncoderApp } from "../../encoder/app";

describe("encoder /health", () => {
  it("reports the version of the ffmpeg it runs", async () => {
    const res = await createEncoderApp({ ffmpeg: "ffmpeg" }).request("/health");
    expect(res.status).toBe(200);
    const body = await res.json();
    const expected = /^ffmpeg version (\S+)/.exec(execFileSync("ffmpeg", ["-version"], { encoding: "utf8" }))![1];
    expect(body).toMatchObject({ ok: true, service: "kiln-encoder", ffmpeg: expected });
  });

  it("is unhealthy (503) when ffmpeg cannot run", async () => {
    const res = await createEncoderApp({ ffmpeg: "/nonexistent/ffmpeg" }).request("/health");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(false);
  });
});
