import { ApiError, api, jobPath } from "../api";
import { type Child, alertBox, facts, fill, h } from "../dom";
import { bytes, decimal, duration, money, time } from "../format";
import { type Preview, preview } from "../players";
import type { Cleanup } from "../router";
import { type Job, type Output, type WebhookDelivery, terminalStatuses } from "../types";
import { type WatchState, watchJob } from "../watch";
import { statusBadge } from "./status";

/** After a job ends its webhooks are still being sent: their list is read again this often, this many times. */
const DELIVERY_POLL_MS = 2000;
const DELIVERY_POLLS = 15;

/**
 * One job: its progress per task live over the Watch WebSocket, the input's probe facts,
 * each output with its facts and a preview, cost and usage, and the webhook deliveries.
 * Each Watch event redraws the sections from the job it carries; a playing preview is
 * kept as long as its output is, since every read signs the output's URLs afresh.
 */
export function renderJob(main: HTMLElement, id: string): Cleanup {
  const heading = h("h1", { id: "job-title" }, "Job ", h("code", {}, id));
  const summary = h("div", { class: "summary" });
  const liveState = h("span", { class: "live", "aria-live": "polite" });
  const overall = h("progress", { id: "job-progress", max: 100, value: 0 });
  const overallText = h("output", { for: "job-progress" });
  const tasks = h("div");
  const input = h("div");
  const outputs = h("div");
  const cost = h("div");
  const deliveries = h("div");
  const problem = h("div");
  const section = (title: string, slug: string, ...content: Child[]) =>
    h("section", { "aria-labelledby": `${slug}-title` }, h("h2", { id: `${slug}-title` }, title), content);
  const body = h(
    "div",
    { hidden: true },
    summary,
    section("Progress", "progress", h("p", { class: "progress-line" }, h("label", { for: "job-progress" }, "Overall"), overall, overallText, liveState), tasks),
    section("Input", "input", input),
    section("Outputs", "outputs", outputs),
    section("Cost and usage", "cost", cost),
    section("Webhook deliveries", "webhooks", deliveries),
  );
  main.append(h("p", {}, h("a", { href: "#/" }, "← All jobs")), heading, problem, body);

  const previews = new Map<string, Preview>();
  const controller = new AbortController();
  let stopWatch: (() => void) | null = null;
  let deliveryTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let job: Job | null = null;

  const draw = (next: Job) => {
    job = next;
    body.hidden = false;
    fill(heading, "Job ", h("code", {}, next.id), " ", statusBadge(next.status));
    fill(summary, summaryFacts(next, () => void act("cancel")));
    overall.value = next.progress;
    overall.setAttribute("aria-valuetext", `${next.progress} %`);
    fill(overallText, `${next.progress} %`);
    fill(tasks, taskTable(next));
    fill(input, inputFacts(next));
    drawOutputs(next);
    fill(cost, costFacts(next));
  };

  const drawOutputs = (next: Job) => {
    if (next.outputs.length === 0) return fill(outputs, h("p", { class: "hint" }, "This job has no outputs yet."));
    const cards = next.outputs.map((output) => {
      let kept = previews.get(output.id);
      if (kept && output.status !== "completed") {
        kept.destroy();
        previews.delete(output.id);
        kept = undefined;
      }
      if (!kept && output.status === "completed") {
        kept = preview(output) ?? undefined;
        if (kept) previews.set(output.id, kept);
      }
      return outputCard(output, kept?.element ?? null);
    });
    fill(outputs, cards);
  };

  const loadDeliveries = async (polls: number) => {
    if (stopped || !job) return;
    if (!job.webhook_url) return fill(deliveries, h("p", { class: "hint" }, "This job has no webhook_url: nothing is delivered."));
    try {
      const list = await api<{ data: WebhookDelivery[] }>(jobPath(id, "/webhooks"), { signal: controller.signal });
      fill(deliveries, deliveryTable(list.data));
      const settled = list.data.length > 0 && list.data.every((d) => d.status !== "pending");
      // A job that has ended owes its deliveries: they are read again until they settle.
      if (terminalStatuses.includes(job.status) && !settled && polls > 0) deliveryTimer = setTimeout(() => void loadDeliveries(polls - 1), DELIVERY_POLL_MS);
    } catch (err) {
      if ((err as Error).name !== "AbortError") fill(deliveries, alertBox(describe(err)));
    }
  };

  const onState = (state: WatchState, detail?: string) => {
    const text: Record<WatchState, string> = {
      connecting: "Connecting…",
      live: "Live",
      reconnecting: "Reconnecting…",
      ended: "Ended",
      unavailable: `Not live${detail ? `: ${detail}` : ""}`,
    };
    liveState.dataset.state = state;
    fill(liveState, text[state]);
  };

  const act = async (action: "cancel") => {
    try {
      draw(await api<Job>(jobPath(id, `/${action}`), { method: "POST" }));
    } catch (err) {
      fill(problem, alertBox(describe(err)));
    }
  };

  (async () => {
    try {
      const first = await api<Job>(jobPath(id), { signal: controller.signal });
      if (stopped) return;
      draw(first);
      void loadDeliveries(DELIVERY_POLLS);
      if (terminalStatuses.includes(first.status)) return onState("ended");
      stopWatch = watchJob(
        id,
        (event) => {
          if (stopped || event.event === "heartbeat") return;
          draw(event.job);
          if (event.event === "completed") void loadDeliveries(DELIVERY_POLLS);
        },
        onState,
      );
    } catch (err) {
      if ((err as Error).name === "AbortError") return;
      if (err instanceof ApiError && err.status === 404) {
        fill(heading, "Job not found");
        fill(problem, alertBox(`404 — ${err.message}. It may belong to another organization, or the id is wrong.`));
      } else fill(problem, alertBox(describe(err)));
    }
  })();

  return () => {
    stopped = true;
    controller.abort();
    stopWatch?.();
    clearTimeout(deliveryTimer);
    for (const kept of previews.values()) kept.destroy();
  };
}

function describe(err: unknown): string {
  return err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
}

function summaryFacts(job: Job, cancel: () => void): HTMLElement {
  const ended = terminalStatuses.includes(job.status);
  return h(
    "div",
    {},
    facts([
      ["Kind", job.kind ?? (job.outputs.length ? "outputs" : null)],
      ["Stage", job.current_stage],
      ["Created", time(job.created_at)],
      ["Completed", time(job.completed_at)],
      ["Attempt", job.attempt > 1 ? String(job.attempt) : null],
      ["Waiting for an encoder", job.waiting_for_encoder ? "yes" : null],
      ["Dialect", job.dialect],
      ["Tags", job.tags.length ? job.tags.map((t) => h("span", { class: "tag" }, t)) : null],
    ]),
    job.error ? alertBox(`${job.error.code}: ${job.error.message}`) : null,
    ended ? null : h("p", {}, h("button", { type: "button", class: "secondary", onclick: cancel }, "Cancel job")),
  );
}

function taskTable(job: Job): HTMLElement {
  return h(
    "table",
    { class: "tasks" },
    h("caption", { class: "visually-hidden" }, "Tasks"),
    h("thead", {}, h("tr", {}, ["Task", "Status", "Progress", "Took"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      job.tasks.map((task) => {
        const name = task.tool ?? task.kind;
        const took = task.started_at && task.finished_at ? Date.parse(task.finished_at) - Date.parse(task.started_at) : null;
        return h(
          "tr",
          { "data-task": task.id },
          h("td", {}, name, task.output_id ? h("span", { class: "hint" }, ` → ${task.output_id}`) : null),
          h("td", {}, statusBadge(task.status), task.error ? h("span", { class: "hint" }, ` ${task.error.code}`) : null),
          h("td", {}, h("progress", { max: 100, value: task.progress, "aria-label": `Progress of ${name} (${task.id})` }), ` ${task.progress} %`),
          h("td", {}, duration(took)),
        );
      }),
    ),
  );
}

function inputFacts(job: Job): HTMLElement {
  const m = (job.input_metadata ?? {}) as Record<string, any>;
  const size = m.width && m.height ? `${m.width}×${m.height}` : null;
  return h(
    "div",
    {},
    facts([["Source", job.input ? h("code", {}, job.input) : null]]),
    job.input_metadata
      ? facts([
          ["Duration", duration(m.duration_ms)],
          ["Size", size],
          ["Video codec", m.codec],
          ["Frame rate", m.framerate ? `${decimal(m.framerate, 2)} fps` : null],
          ["Bit rate", m.bitrate_kbps ? `${m.bitrate_kbps} kb/s` : null],
          ["Audio", m.has_audio === undefined ? null : m.has_audio ? (m.audio_codec ?? "yes") : "none"],
          ["Rotation", m.rotation ? `${m.rotation}°` : null],
          ["File size", bytes(m.file_size_bytes)],
        ])
      : h("p", { class: "hint" }, "Not probed yet."),
  );
}

function outputCard(output: Output, player: HTMLElement | null): HTMLElement {
  const f = output.facts;
  return h(
    "article",
    { class: "output", "aria-labelledby": `${output.id}-title` },
    h("h3", { id: `${output.id}-title` }, output.type.toUpperCase(), " ", h("code", {}, output.id), " ", statusBadge(output.status)),
    facts([
      ["Duration", duration(f?.duration_ms)],
      ["Size", f?.width && f?.height ? `${f.width}×${f.height}` : null],
      ["Codec", f?.codec],
      ["Files", f && f.files > 1 ? String(f.files) : null],
      ["File size", bytes(output.file_size_bytes)],
      ["Encryption", output.drm ? `${output.drm.scheme} (key id ${output.drm.key_id})` : null],
      ["Location", output.location ? h("code", {}, output.location) : null],
      ["SHA-256", f?.sha256 ? h("code", { class: "hash" }, f.sha256) : null],
    ]),
    output.error ? alertBox(`${output.error.code}: ${output.error.message}`) : null,
    player,
    output.output_url ? h("p", {}, h("a", { href: output.output_url, target: "_blank", rel: "noopener" }, openLabel(output))) : null,
  );
}

/** A package opens at its master playlist (hls, adaptive) or MPD (dash); anything else is one file. */
function openLabel(output: Output): string {
  if (output.type === "hls" || output.type === "adaptive") return "Open the master playlist";
  if (output.type === "dash") return "Open the MPD";
  return "Download the file";
}

function costFacts(job: Job): HTMLElement {
  const u = job.usage;
  return h(
    "div",
    {},
    facts([
      ["Estimated cost", money(job.total_estimated_cost, job.currency)],
      ["Actual cost", money(job.total_actual_cost, job.currency)],
      ["Compute units", decimal(u.compute_units)],
      ["Minutes in", decimal(u.video_minutes_in)],
      ["Minutes out", decimal(u.video_minutes_out)],
      ["Data in", `${decimal(u.gb_in, 6)} GB`],
      ["Data out", `${decimal(u.gb_out, 6)} GB`],
      ["Probe took", duration(job.execution.probe_duration_ms)],
      ["Encode took", duration(job.execution.encode_duration_ms)],
      ["Total time", duration(job.execution.total_duration_ms)],
    ]),
    u.tasks.length
      ? h(
          "table",
          { class: "usage" },
          h("caption", {}, "Usage per task"),
          h("thead", {}, h("tr", {}, ["Task", "Compute units", "Minutes in", "Minutes out", "GB in", "GB out"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            {},
            u.tasks.map((t) =>
              h("tr", {}, h("td", {}, t.kind), h("td", {}, decimal(t.compute_units)), h("td", {}, decimal(t.video_minutes_in)), h("td", {}, decimal(t.video_minutes_out)), h("td", {}, decimal(t.gb_in, 6)), h("td", {}, decimal(t.gb_out, 6))),
            ),
          ),
        )
      : null,
  );
}

function deliveryTable(list: WebhookDelivery[]): HTMLElement {
  if (list.length === 0) return h("p", { class: "hint" }, "No deliveries yet: one is made when the job ends.");
  return h(
    "table",
    { class: "deliveries" },
    h("caption", { class: "visually-hidden" }, "Webhook deliveries, newest first"),
    h("thead", {}, h("tr", {}, ["Event", "Status", "Attempts", "Answer", "Latency", "Last attempt", "Next attempt"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      list.map((d) =>
        h(
          "tr",
          { "data-delivery": d.id },
          h("td", {}, h("code", {}, d.event_type)),
          h("td", {}, statusBadge(d.status)),
          h("td", {}, String(d.attempt)),
          h("td", {}, d.status_code !== null ? `HTTP ${d.status_code}` : (d.error ?? "—")),
          h("td", {}, d.latency_ms !== null ? `${d.latency_ms} ms` : "—"),
          h("td", {}, time(d.attempted_at) ?? "—"),
          h("td", {}, time(d.next_attempt_at) ?? "—"),
        ),
      ),
    ),
  );
}

