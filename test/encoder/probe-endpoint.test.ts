import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeResponseSchema } from "../../encoder/contract";
import { clipPath } from "./clips";
import { startEncoder, startMediaServer } from "./harness";

const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-probe-work-"));
process.env.KILN_WORK_DIR = workDir;

let media: Awaited<ReturnType<typeof startMediaServer>>;
let encoder: Awaited<ReturnType<typeof startEncoder>>;

beforeAll(async () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-probe-media-"));
  const random = path.join(scratch, "random.mp4");
  writeFileSync(random, Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + 13) % 251)));
  media = await startMediaServer({ "landscape.mp4": clipPath("landscape"), "random.mp4": random });
  encoder = await startEncoder({ concurrency: 1 });
});
afterAll(async () => {
  await encoder.close();
  await media.close();
});

async function probe(url: string, server = encoder) {
  const res = await server.call("POST", "/probe", { v: 1, url });
  expect(res.status).toBe(200);
  return probeResponseSchema.parse(await res.json());
}

describe("POST /probe", () => {
  it("answers a real clip's media facts from ffprobe and leaves no working dir behind", async () => {
    const result = await probe(media.url("landscape.mp4"));
    if (!result.ok) throw new Error(`probe failed: ${result.error.message}`);
    expect(result.metadata).toMatchObject({ width: 640, height: 360, codec: "h264", has_audio: true, audio_codec: "aac", framerate: 30, rotation: 0 });
    expect(result.metadata.duration_ms).toBeGreaterThan(2900);
    expect(result.metadata.duration_ms).toBeLessThan(3100);
    expect(result.metadata.file_size_bytes).toBeGreaterThan(0);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("answers random bytes with input_unreadable and a missing file with input_unreachable", async () => {
    const random = await probe(media.url("random.mp4"));
    expect(random).toMatchObject({ ok: false, error: { code: "input_unreadable" } });
    const missing = await probe(media.url("missing.mp4"));
    expect(missing).toMatchObject({ ok: false, error: { code: "input_unreachable" } });
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("refuses private addresses unless the encoder allows them (input_forbidden)", async () => {
    const strict = await startEncoder({ allowPrivateNetworks: false });
    try {
      expect(await probe(media.url("landscape.mp4"), strict)).toMatchObject({ ok: false, error: { code: "input_forbidden" } });
    } finally {
      await strict.close();
    }
  });

  it("requires the shared token and a probe request", async () => {
    expect((await encoder.call("POST", "/probe", { v: 1, url: media.url("landscape.mp4") }, "wrong-token")).status).toBe(401);
    const noAuth = await fetch(`${encoder.base}/probe`, { method: "POST", body: JSON.stringify({ v: 1, url: media.url("landscape.mp4") }) });
    expect(noAuth.status).toBe(401);
    for (const body of [{ v: 1 }, { v: 1, url: "not a url" }, { v: 2, url: media.url("landscape.mp4") }]) {
      const res = await encoder.call("POST", "/probe", body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_probe_request");
    }
  });
});
