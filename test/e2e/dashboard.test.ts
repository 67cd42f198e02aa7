import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, ensureChromium, root } from "../../scripts/bootstrap.mjs";
import { clipPath } from "../encoder/clips";
import { bootStack, type E2EStack, encryptedPackagesJob, jobWithStatus, serveFiles, webhookReceiver } from "./harness";

/**
 * The dashboard in real Chromium (Debian's, driven by playwright-core) against the whole
 * local stack: signing in, a clip dropped and uploaded with tus, the job's progress bar
 * driven by its Watch WebSocket to 100 %, the HLS output playing in hls.js, the webhook
 * delivery listed, and the boundaries: a wrong key, another organization's job.
 */

// The page.evaluate callbacks below run in the browser; this file compiles with Node's types only.
declare const document: any, window: any, sessionStorage: any, localStorage: any, DataTransfer: any, File: any, MutationObserver: any;

/** Where the job page's screenshot is kept (git-ignored), printed by the test. */
const ARTIFACTS = path.join(root, "test-results", "dashboard");
/** A second organization, seeded with the dev one: its job must stay out of the dev key's reach. */
const other = { orgId: "org_e2e_other", name: "Another organization", keyId: "key_e2e_other", keyName: "other", key: "sk_e2e_other_org_0123456789" };

let stack: E2EStack;
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
let media: Awaited<ReturnType<typeof serveFiles>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL the page asked for, and every WebSocket it opened: the key must be in none. */
const requested: string[] = [];
const sockets: { url: string; frames: any[] }[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  ensureChromium();
  stack = await bootStack({}, {}, { organizations: [other] });
  receiver = await webhookReceiver();
  media = await serveFiles({ "clip.mp4": clipPath("landscape") });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("request", (request) => requested.push(request.url()));
  page.on("websocket", (ws) => {
    const socket = { url: ws.url(), frames: [] as any[] };
    sockets.push(socket);
    ws.on("framereceived", (frame) => socket.frames.push(JSON.parse(String(frame.payload))));
  });
  page.on("pageerror", (err) => pageErrors.push(err.message));
});
afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await media?.close();
  await stack?.stop();
});

async function signIn(key: string) {
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/**
 * Starts an output's <video> (muted, as autoplay allows) and waits until it has played past
 * `seconds` or its player reported an error; answers both, for the test to judge.
 */
async function play(outputSelector: string, seconds: number): Promise<{ currentTime: number; playerError: string | null }> {
  const video = page.locator(outputSelector);
  await video.waitFor();
  await video.evaluate((v: any) => {
    v.muted = true;
    // Not awaited: a player that never starts leaves this promise pending; the error shows below.
    void v.play().catch(() => undefined);
  });
  await page.waitForFunction(
    ({ selector, past }) => {
      const v = document.querySelector(selector);
      return !!v && (v.currentTime > past || v.dataset.playerError !== undefined);
    },
    { selector: outputSelector, past: seconds },
    { timeout: 30_000 },
  );
  return video.evaluate((v: any) => ({ currentTime: v.currentTime, playerError: v.dataset.playerError ?? null }));
}

/** Opens a dashboard route signed in with the dev key (the sign-in form has its own test), so each test runs alone too. */
async function openSignedIn(route: string) {
  await page.goto(`${stack.url}/`);
  await page.evaluate((key) => sessionStorage.setItem("kiln.apiKey", key), stack.devKey);
  await page.goto(`${stack.url}/${route}`);
}

describe("the dashboard in Chromium", () => {
  it("serves the dashboard at / from the assets while every API and dialect path still reaches the Worker", async () => {
    const html = await (await fetch(`${stack.url}/`)).text();
    const entry = /<script type="module" src="(\/assets\/app-[^"]+\.js)"/.exec(html)?.[1];
    expect(entry).toBeDefined();
    const script = await fetch(`${stack.url}${entry}`);
    expect([script.status, script.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    // Each front-end answers in its own shape: the assets shadow none of them.
    const unauthorized = async (p: string, init?: RequestInit) => {
      const res = await fetch(`${stack.url}${p}`, init);
      return [res.status, await res.json()];
    };
    expect(await unauthorized("/v1/jobs")).toEqual([401, expect.objectContaining({ error: expect.objectContaining({ code: "token_missing" }) })]);
    expect(await unauthorized("/jobs")).toEqual([401, expect.objectContaining({ kind: "token_missing" })]);
    expect(await unauthorized("/o/urn:janus:organization:dev/jobs")).toEqual([401, expect.objectContaining({ code: "token_missing" })]);
    expect(await unauthorized("/api/v1/jobs")).toEqual([401, expect.objectContaining({ success: false, error: expect.objectContaining({ code: "UNAUTHORIZED" }) })]);
    expect(await unauthorized("/transcodely.v1.JobService/ListJobs", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).toEqual([
      401,
      expect.objectContaining({ code: "unauthenticated" }),
    ]);
    expect((await fetch(`${stack.url}/v1/openapi.json`)).status).toBe(200);
  });

  it("renders the API reference at /docs with request examples, from this origin alone", async () => {
    const before = requested.length;
    await page.goto(`${stack.url}/docs`);
    await page.getByRole("heading", { name: "Paths outside this document" }).waitFor({ timeout: 30_000 });
    await page.getByText("/transcodely.v1.JobService/{Method}").first().waitFor();
    // An operation with its curl example.
    await page.getByRole("heading", { name: "Create a job" }).first().scrollIntoViewIfNeeded();
    await expect.poll(() => page.locator("pre, code").filter({ hasText: `curl ${stack.url}/v1/jobs` }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const origins = new Set(requested.slice(before).map((url) => new URL(url).origin));
    expect([...origins]).toEqual([stack.url]);
  });

  it("refuses a wrong key with an error, then signs in with the right one", async () => {
    await page.goto(`${stack.url}/`);
    await expect.poll(() => page.url()).toContain("#/sign-in");
    await signIn("sk_wrong_key_0000");
    const error = page.getByRole("alert");
    await error.waitFor();
    expect(await error.textContent()).toMatch(/not accepted.*token_invalid/);
    expect(await page.evaluate(() => sessionStorage.getItem("kiln.apiKey"))).toBeNull();

    // From the keyboard: the refused key is selected in its field, so typing replaces it.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("api-key");
    await page.keyboard.type(stack.devKey);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    expect(await page.evaluate(() => [sessionStorage.getItem("kiln.apiKey"), localStorage.getItem("kiln.apiKey")])).toEqual([stack.devKey, null]);
  });

  it("uploads a dropped clip with tus, follows the job to 100 % over its WebSocket, plays the HLS output and lists the webhook delivery", async () => {
    await openSignedIn("#/");
    await page.getByRole("link", { name: "New job" }).first().click();
    await page.getByRole("heading", { name: "New job" }).waitFor();

    // The drop zone is reached with Tab and opens the file chooser with Enter.
    // The view settles first (its presets load); then focus and key go to the drop zone in one step.
    await page.waitForLoadState("networkidle");
    const chooser = page.waitForEvent("filechooser");
    await page.locator("#drop-zone").press("Enter");
    expect((await chooser).isMultiple()).toBe(false);

    // A real file, dropped on the drop zone as a DataTransfer (as a desktop drag would).
    const clip = clipPath("landscape");
    const drop = await page.evaluateHandle(
      ({ base64, name }) => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: "video/mp4" }));
        return transfer;
      },
      { base64: readFileSync(clip).toString("base64"), name: "landscape.mp4" },
    );
    await page.dispatchEvent("#drop-zone", "drop", { dataTransfer: drop });
    const uploadId = (await page.locator("#upload-id").textContent({ timeout: 30_000 }))!;
    expect(uploadId).toMatch(/^vid_/);
    expect(await page.locator("#upload-progress").evaluate((bar: any) => bar.value)).toBe(100);
    expect(requested.some((url) => url.endsWith("/v1/uploads/tus"))).toBe(true);

    await page.getByLabel("Kind", { exact: true }).selectOption("adaptive_video");
    await page.getByLabel("Tags").fill("e2e-dashboard");
    await page.getByLabel("Webhook URL").fill(receiver.url);
    const curl = (await page.locator("#curl").textContent())!;
    expect(curl).toContain(`${stack.url}/v1/jobs`);
    expect(curl).toContain(`"input": "${uploadId}"`);
    expect(curl).toContain(`"kind": "adaptive_video"`);
    expect(curl).toContain("Bearer $KILN_API_KEY");
    expect(curl).not.toContain(stack.devKey);

    // Every value the overall progress bar takes, from the moment the job page draws it.
    await page.evaluate(() => {
      (window as any).progressSeen = [];
      new MutationObserver(() => {
        const bar = document.querySelector("#job-progress");
        if (bar && bar.isConnected) (window as any).progressSeen.push(bar.value);
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["value"] });
    });
    await page.getByRole("button", { name: "Create job" }).click();
    await expect.poll(() => page.url()).toMatch(/#\/jobs\/job_/);
    const jobId = decodeURIComponent(page.url().split("#/jobs/")[1]!);

    await page.waitForFunction(() => document.querySelector("#job-progress")?.value === 100, null, { timeout: 90_000 });
    const seen: number[] = await page.evaluate(() => (window as any).progressSeen);
    expect(seen.at(-1)).toBe(100);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    // The bar moved on Watch events: the job was read over HTTP once, and the socket (a watch
    // token in its URL, never the key) carried the job to 100 %.
    const jobReads = requested.filter((url) => new URL(url).pathname === `/v1/jobs/${jobId}`);
    expect(jobReads).toHaveLength(1);
    const socket = sockets.find((s) => s.url.includes(`/v1/jobs/${jobId}/watch?token=`))!;
    expect(socket).toBeDefined();
    await expect.poll(() => socket.frames.at(-1)?.event, { timeout: 10_000 }).toBe("completed");
    const events = socket.frames.map((f) => f.event);
    expect(events[0]).toBe("snapshot");
    expect(events).toContain("progress");
    expect(events.at(-1)).toBe("completed");
    expect(socket.frames.at(-1).job.progress).toBe(100);
    for (const url of [...requested, ...sockets.map((s) => s.url)]) expect(url).not.toContain(stack.devKey);

    // The HLS output plays in hls.js past 2 s without a player error.
    const played = await play("video[data-output]", 2);
    expect(played.playerError).toBeNull();
    expect(played.currentTime).toBeGreaterThan(2);
    expect(await page.locator(".player-error").isVisible()).toBe(false);
    expect(requested.some((url) => /\/assets\/hls-[^/]+\.js$/.test(url))).toBe(true);
    expect(requested.some((url) => /\/assets\/dash[^/]*\.js$/.test(url))).toBe(false);

    // The input's probe facts, the output's facts, cost and usage.
    const text = (await page.locator("main").textContent())!;
    expect(text).toMatch(/Size640×360/);
    expect(text).toMatch(/Estimated cost€/);
    expect(text).toMatch(/Compute units\d/);
    // The webhook delivery, once the receiver has answered it.
    await page.locator("[data-delivery] .status-delivered").waitFor({ timeout: 40_000 });
    expect(await page.locator("[data-delivery] td").first().textContent()).toBe("job.completed");
    expect(receiver.received.some((hook) => JSON.parse(hook.body).data?.id === jobId)).toBe(true);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = path.join(ARTIFACTS, "job-page.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`dashboard job page screenshot: ${screenshot}`);

    // The list shows it, found by its tag.
    await page.goto(`${stack.url}/#/?tag=e2e-dashboard`);
    await page.getByRole("link", { name: jobId }).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it("plays an AES-128 HLS output in hls.js and a CENC DASH output in dash.js, keys from the signed key URLs", async () => {
    const created = await stack.api("/v1/jobs", {
      body: encryptedPackagesJob(media.url("clip.mp4")),
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const job = await jobWithStatus(stack, created.json.id, ["completed"]);
    const [hls, dash] = job.outputs;
    const before = requested.length;

    await openSignedIn(`#/jobs/${job.id}`);
    for (const output of [hls, dash]) {
      const played = await play(`video[data-output="${output.id}"]`, 2);
      expect(played, output.type).toEqual({ currentTime: expect.any(Number), playerError: null });
      expect(played.currentTime).toBeGreaterThan(2);
    }
    // The players asked the key route only through its signed URLs: the AES key, the ClearKey license.
    const keyRequests = requested.slice(before).filter((url) => /\/outputs\/out_[^/]+\/key/.test(url));
    expect(keyRequests.some((url) => url.includes(`/outputs/${hls.id}/key?`))).toBe(true);
    expect(keyRequests.some((url) => url.includes(`/outputs/${dash.id}/key?`))).toBe(true);
    for (const url of keyRequests) expect(new URL(url).searchParams.get("sig")).toBeTruthy();
    expect(requested.some((url) => /\/assets\/dash[^/]*\.js$/.test(url))).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it("shows another organization's job as not found", async () => {
    const res = await fetch(`${stack.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${other.key}`, "content-type": "application/json" },
      body: JSON.stringify({ input: "https://example.com/theirs.mp4", kind: "video" }),
    });
    expect(res.status).toBe(201);
    const theirs = ((await res.json()) as { id: string }).id;

    await openSignedIn(`#/jobs/${theirs}`);
    await page.getByRole("heading", { name: "Job not found" }).waitFor();
    expect(await page.getByRole("alert").textContent()).toBe(`404 — No job ${theirs}. It may belong to another organization, or the id is wrong.`);
    await page.goto(`${stack.url}/#/?search=${theirs}`);
    await page.getByText("No job matches these filters.").waitFor();
  });
});
