import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EncoderEvent, workOrderSchema } from "../../encoder/contract";
import { exportOutputs } from "../../encoder/pipeline/export";
import { PUT_ATTEMPTS } from "../../encoder/pipeline/upload";
import { clipPath } from "./clips";
import { ffprobe, videoStream } from "./ffprobe";
import { startEncoder, startMediaServer, startSink } from "./harness";

const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-export-work-"));
process.env.KILN_WORK_DIR = workDir;

let sink: Awaited<ReturnType<typeof startSink>>;
beforeAll(async () => {
  sink = await startSink();
});
afterAll(async () => {
  await sink.close();
});
beforeEach(() => {
  sink.setMultipart({ thresholdBytes: 256 * 1024, partBytes: 200 * 1024 });
  sink.setFailPart(() => null);
  sink.setFailSign(() => null);
});

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** An encoder's working dir holding a real mp4 (larger than the threshold) and a small text file. */
function madeOutputs() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-export-"));
  copyFileSync(clipPath("landscape"), path.join(dir, "out_big.mp4"));
  writeFileSync(path.join(dir, "out_small.txt"), "a small file, one PUT\n");
  const outputs = [
    { outputId: "out_big", main: "out_big.mp4", files: ["out_big.mp4"], facts: { duration_ms: 3000, width: 640, height: 360, codec: "h264" } },
    { outputId: "out_small", main: "out_small.txt", files: ["out_small.txt"], facts: { duration_ms: null, width: null, height: null, codec: null } },
  ];
  return { dir, outputs, big: readFileSync(path.join(dir, "out_big.mp4")) };
}

const orderFor = (jobId: string) => workOrderSchema.parse(sink.order(jobId, "http://127.0.0.1:9/in.mp4", [{ task_id: "t", output_id: "out_big", spec: { kind: "video", format: "mp4", codec: "h264" } }]));
const uploadOf = (filePath: string) => [...sink.multipartUploads.values()].filter((u) => u.path === filePath).at(-1)!;

describe("export in parts", () => {
  it("uploads a file over the threshold in parts that reassemble to the same bytes, and a small one in one PUT", async () => {
    const { dir, outputs, big } = madeOutputs();
    expect(big.length).toBeGreaterThan(3 * 200 * 1024);
    const facts = await exportOutputs(orderFor("job_export_parts"), dir, outputs, new AbortController().signal, { allowPrivateNetworks: true });

    const upload = uploadOf("out_big.mp4");
    expect(upload.state).toBe("completed");
    expect(upload.parts.size).toBe(Math.ceil(big.length / (200 * 1024)));
    const stored = sink.uploads.get("out_big.mp4")!;
    expect(stored.bytes.length).toBe(big.length);
    expect(stored.sha256).toBe(sha256(big));
    expect(facts.find((f) => f.output_id === "out_big")).toMatchObject({ sha256: sha256(big), size_bytes: big.length });
    const reassembled = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-reassembled-")), "out.mp4");
    writeFileSync(reassembled, stored.bytes);
    expect(videoStream(ffprobe(reassembled))).toMatchObject({ codec_name: "h264", width: 640, height: 360 });

    expect(uploadOf("out_small.txt")).toBeUndefined();
    expect(sink.uploads.get("out_small.txt")!.bytes.toString()).toBe("a small file, one PUT\n");
  });

  it("retries a part that failed once and still completes", async () => {
    const { dir, outputs, big } = madeOutputs();
    sink.setFailPart((part, tries) => (part === 2 && tries === 0 ? 503 : null));
    await exportOutputs(orderFor("job_export_retry"), dir, outputs, new AbortController().signal, { allowPrivateNetworks: true });
    const upload = uploadOf("out_big.mp4");
    expect(upload.attempts.filter((p) => p === 2)).toHaveLength(2);
    expect(upload.state).toBe("completed");
    expect(sink.uploads.get("out_big.mp4")!.sha256).toBe(sha256(big));
  });

  it("gives up on a part after its retries, aborts the upload and fails with export_failed", async () => {
    const { dir, outputs } = madeOutputs();
    sink.setFailPart((part) => (part === 3 ? 500 : null));
    await expect(exportOutputs(orderFor("job_export_fail"), dir, outputs, new AbortController().signal, { allowPrivateNetworks: true })).rejects.toMatchObject({
      code: "export_failed",
      message: expect.stringContaining("part 3"),
    });
    const upload = uploadOf("out_big.mp4");
    expect(upload.attempts.filter((p) => p === 3)).toHaveLength(PUT_ATTEMPTS);
    expect(upload.state).toBe("aborted");
  }, 30_000); // the retries wait 250 ms doubling: ~7.75 s before it gives up

  it("does not retry a part refused for good (403), and aborts", async () => {
    const { dir, outputs } = madeOutputs();
    sink.setFailPart((part) => (part === 1 ? 403 : null));
    await expect(exportOutputs(orderFor("job_export_403"), dir, outputs, new AbortController().signal, { allowPrivateNetworks: true })).rejects.toMatchObject({ code: "export_failed" });
    const upload = uploadOf("out_big.mp4");
    expect(upload.attempts.filter((p) => p === 1)).toHaveLength(1);
    expect(upload.state).toBe("aborted");
  });

  it("asks for single PUTs only when the Worker offers no multipart plan", async () => {
    sink.setMultipart(null);
    const { dir, outputs, big } = madeOutputs();
    const before = sink.multipartUploads.size;
    await exportOutputs(orderFor("job_export_single"), dir, outputs, new AbortController().signal, { allowPrivateNetworks: true });
    expect(sink.multipartUploads.size).toBe(before);
    expect(sink.uploads.get("out_big.mp4")!.sha256).toBe(sha256(big));
  });
});

describe("signing", () => {
  it("waits out a Worker that answers 503 twice (restarting, shedding load), then exports", async () => {
    const { dir, outputs, big } = madeOutputs();
    sink.setFailSign((tries) => (tries < 2 ? 503 : null));
    await exportOutputs(orderFor("job_export_sign_retry"), dir, outputs, new AbortController().signal, { allowPrivateNetworks: true });
    expect(sink.signRequests).toBe(3);
    expect(sink.uploads.get("out_big.mp4")!.sha256).toBe(sha256(big));
  });

  it("fails with export_failed once the signing endpoint has answered 503 on every try", async () => {
    const { dir, outputs } = madeOutputs();
    sink.setFailSign(() => 503);
    await expect(exportOutputs(orderFor("job_export_sign_down"), dir, outputs, new AbortController().signal, { allowPrivateNetworks: true })).rejects.toMatchObject({
      code: "export_failed",
      message: "the signing endpoint answered 503",
    });
    expect(sink.signRequests).toBe(PUT_ATTEMPTS);
  }, 30_000);

  it("does not ask again when refused for good (401 is the answer to a bad token)", async () => {
    const { dir, outputs } = madeOutputs();
    sink.setFailSign(() => 401);
    await expect(exportOutputs(orderFor("job_export_sign_401"), dir, outputs, new AbortController().signal, { allowPrivateNetworks: true })).rejects.toMatchObject({ code: "export_failed" });
    expect(sink.signRequests).toBe(1);
  });
});

describe("a job whose output passes the threshold", () => {
  it("is encoded, exported in parts and reported with the facts of the reassembled file", async () => {
    const media = await startMediaServer({ "landscape.mp4": clipPath("landscape") });
    const encoder = await startEncoder({ concurrency: 1, heartbeatMs: 500 });
    try {
      sink.setMultipart({ thresholdBytes: 64 * 1024, partBytes: 64 * 1024 });
      const order = sink.order("job_export_encoded", media.url("landscape.mp4"), [
        { task_id: "t", output_id: "out_enc", spec: { kind: "video", format: "mp4", codec: "h264", width: 640, quality: "high" } },
      ]);
      expect((await encoder.call("POST", "/work", order)).status).toBe(202);
      const end = await sink.waitFor((e) => e.job_id === "job_export_encoded" && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)));
      expect(end.type).toBe("job_completed");
      const done = sink.events.find((e) => e.job_id === "job_export_encoded" && e.type === "task_completed" && e.stage === "encode") as Extract<EncoderEvent, { type: "task_completed" }>;
      const facts = done.output!;
      const upload = uploadOf(facts.main);
      expect(upload.state).toBe("completed");
      expect(upload.parts.size).toBeGreaterThan(1);
      const stored = sink.uploads.get(facts.main)!;
      expect(stored.sha256).toBe(facts.sha256);
      expect(stored.bytes.length).toBe(facts.size_bytes);
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-out-")), "out.mp4");
      writeFileSync(file, stored.bytes);
      expect(statSync(file).size).toBeGreaterThan(64 * 1024);
      const probed = ffprobe(file);
      expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 640, height: 360 });
      expect(Number(probed.format.duration)).toBeCloseTo(3, 0);
      expect(readdirSync(workDir)).toEqual([]);
    } finally {
      await encoder.close();
      await media.close();
    }
  });
});
