import { ApiError, api } from "../api";
import { curlCommand } from "../curl";
import { alertBox, fill, h } from "../dom";
import { bytes } from "../format";
import { type Cleanup, jobHref, navigate } from "../router";
import type { Job, Preset } from "../types";
import { type RunningUpload, uploadFile } from "../upload";

type Kind = "video" | "audio" | "image" | "animation" | "adaptive_video";
const kinds: Kind[] = ["video", "audio", "image", "animation", "adaptive_video"];
const quality = ["very_low", "low", "medium", "high", "very_high"];

/** A kind's options (Ittybit's table, as /v1 checks it), each shown for the kinds that take it. */
interface OptionField {
  name: string;
  label: string;
  kinds: Kind[];
  choices?: string[] | ((kind: Kind, format: string) => string[]);
  number?: boolean;
  hint?: string;
}
const visual: Kind[] = ["video", "image", "animation", "adaptive_video"];
const formats: Record<Kind, string[]> = {
  video: ["mp4", "webm", "mov"],
  audio: ["mp3", "aac", "ogg", "opus", "wav", "flac"],
  image: ["jpeg", "png", "webp", "avif"],
  animation: ["gif", "webp"],
  adaptive_video: ["hls"],
};
const codecs: Record<string, string[]> = { mp4: ["h264", "h265", "av1"], webm: ["vp9", "av1"], mov: ["h264", "h265"] };
const fields: OptionField[] = [
  { name: "format", label: "Format", kinds, choices: (kind) => formats[kind] },
  { name: "codec", label: "Codec", kinds: ["video"], choices: (_kind, format) => codecs[format] ?? [] },
  { name: "quality", label: "Quality", kinds, choices: quality },
  { name: "width", label: "Width", kinds: visual, hint: "pixels, or a percentage such as 50%" },
  { name: "height", label: "Height", kinds: visual, hint: "pixels, or a percentage such as 50%" },
  { name: "fit", label: "Fit", kinds: visual, choices: ["contain", "cover", "fill"] },
  { name: "fps", label: "Frame rate", kinds: ["video", "animation"], number: true },
  { name: "start", label: "Start (s)", kinds, number: true },
  { name: "end", label: "End (s)", kinds: ["video", "audio", "animation", "adaptive_video"], number: true, hint: "required for an animation" },
];

/**
 * A new job: the input (a file dropped or chosen, uploaded with tus; or a URL), then a
 * kind with its options or a preset, tags and a webhook URL. The request is shown as curl
 * as it is written, and sent with an idempotency key, so a double click makes one job.
 */
export function renderNewJob(main: HTMLElement): Cleanup {
  let uploadId: string | null = null;
  let running: RunningUpload | null = null;
  let idempotencyKey = crypto.randomUUID();
  const controller = new AbortController();

  // --- the input ---
  const sourceUpload = h("input", { type: "radio", name: "source", id: "source-upload", value: "upload", checked: true });
  const sourceUrl = h("input", { type: "radio", name: "source", id: "source-url", value: "url" });
  // Reached through the drop zone (its label), which takes the focus instead of this hidden input.
  const fileInput = h("input", { type: "file", id: "file", accept: "video/*,audio/*,image/*", class: "visually-hidden", tabindex: -1 });
  const dropZone = h(
    "label",
    { for: "file", class: "drop-zone", id: "drop-zone" },
    h("strong", {}, "Drop a video, audio or image file here"),
    h("span", {}, " or press Enter / click to choose one. Large files resume where they stopped."),
  );
  const uploadBar = h("progress", { id: "upload-progress", max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const uploadText = h("p", { class: "hint", "aria-live": "polite" });
  const pauseButton = h("button", { type: "button", class: "secondary", hidden: true }, "Pause");
  const uploadPane = h("div", { id: "upload-pane" }, fileInput, dropZone, h("p", { class: "upload-line" }, uploadBar, pauseButton), uploadText);
  const urlInput = h("input", { type: "url", id: "input-url", name: "input-url", placeholder: "https://example.com/video.mp4", "aria-describedby": "input-url-hint" });
  const urlPane = h("p", { class: "field", hidden: true }, h("label", { for: "input-url" }, "Input URL"), urlInput, h("span", { id: "input-url-hint", class: "hint" }, "http(s), s3:// or gs:// (through an origin), or an upload id (vid_…)"));

  // --- what to make ---
  const modeKind = h("input", { type: "radio", name: "mode", id: "mode-kind", value: "kind", checked: true });
  const modePreset = h("input", { type: "radio", name: "mode", id: "mode-preset", value: "preset" });
  const kindSelect = h("select", { id: "kind", name: "kind" }, kinds.map((k) => h("option", { value: k }, k)));
  const controls = new Map<string, HTMLInputElement | HTMLSelectElement>();
  const fieldRows = fields.map((field) => {
    const id = `opt-${field.name}`;
    const control = field.choices
      ? h("select", { id, name: field.name })
      : h("input", { id, name: field.name, type: field.number ? "number" : "text", step: field.number ? "any" : null, min: field.number ? 0 : null, inputmode: field.number ? "decimal" : null, autocomplete: "off" });
    controls.set(field.name, control);
    return { field, row: h("p", { class: "field" }, h("label", { for: id }, field.label), control, field.hint ? h("span", { class: "hint" }, field.hint) : null) };
  });
  const kindPane = h("div", { class: "grid" }, h("p", { class: "field" }, h("label", { for: "kind" }, "Kind"), kindSelect), fieldRows.map((r) => r.row));
  const presetSelect = h("select", { id: "preset", name: "preset" }, h("option", { value: "" }, "Loading presets…"));
  const presetPane = h("p", { class: "field", hidden: true }, h("label", { for: "preset" }, "Preset"), presetSelect);

  const tagsInput = h("input", { id: "tags", name: "tags", type: "text", placeholder: "launch, trailer", autocomplete: "off", "aria-describedby": "tags-hint" });
  const webhookInput = h("input", { id: "webhook-url", name: "webhook-url", type: "url", placeholder: "https://example.com/hooks/kiln", autocomplete: "off" });
  const curl = h("code", { id: "curl" });
  const problem = h("div");
  const submit = h("button", { type: "submit", disabled: true }, "Create job");

  const form = h(
    "form",
    { class: "new-job", "aria-labelledby": "new-job-title", novalidate: true },
    h("h1", { id: "new-job-title" }, "New job"),
    h(
      "fieldset",
      {},
      h("legend", {}, "Input"),
      h("p", { class: "choices" }, sourceUpload, h("label", { for: "source-upload" }, "Upload a file"), sourceUrl, h("label", { for: "source-url" }, "From a URL")),
      uploadPane,
      urlPane,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Output"),
      h("p", { class: "choices" }, modeKind, h("label", { for: "mode-kind" }, "A kind with its options"), modePreset, h("label", { for: "mode-preset" }, "A preset")),
      kindPane,
      presetPane,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Extras"),
      h("p", { class: "field" }, h("label", { for: "tags" }, "Tags"), tagsInput, h("span", { id: "tags-hint", class: "hint" }, "comma-separated")),
      h("p", { class: "field" }, h("label", { for: "webhook-url" }, "Webhook URL"), webhookInput),
    ),
    h("section", { "aria-labelledby": "curl-title" }, h("h2", { id: "curl-title" }, "The request as curl"), h("pre", { class: "curl", tabindex: 0 }, curl)),
    problem,
    h("p", {}, submit),
  );
  main.append(form);

  // --- behaviour ---
  const refreshChoices = () => {
    const kind = kindSelect.value as Kind;
    for (const { field, row } of fieldRows) {
      const shown = field.kinds.includes(kind);
      row.hidden = !shown;
      const control = controls.get(field.name)!;
      control.disabled = !shown;
      if (field.choices && control instanceof HTMLSelectElement) {
        const format = controls.get("format")!.value || formats[kind][0]!;
        const choices = typeof field.choices === "function" ? field.choices(kind, format) : field.choices;
        const current = control.value;
        fill(control, h("option", { value: "" }, field.name === "format" ? `default (${formats[kind][0]})` : "default"), choices.map((c) => h("option", { value: c, selected: c === current }, c)));
        if (field.name === "codec") row.hidden = row.hidden || choices.length === 0;
      }
    }
  };

  const input = () => (sourceUrl.checked ? urlInput.value.trim() : uploadId) || null;
  const request = () => {
    const body: Record<string, unknown> = { input: input() ?? "<choose an input>" };
    if (modePreset.checked) {
      body.outputs = [{ preset: presetSelect.value || "<choose a preset>" }];
    } else {
      const kind = kindSelect.value as Kind;
      body.kind = kind;
      const options: Record<string, unknown> = {};
      for (const { field } of fieldRows) {
        const control = controls.get(field.name)!;
        const raw = control.value.trim();
        if (control.disabled || raw === "") continue;
        // Width and height take pixels as numbers, percentages as strings.
        options[field.name] = field.number || /^\d+$/.test(raw) ? Number(raw) : raw;
      }
      if (Object.keys(options).length) body.options = options;
    }
    const tags = tagsInput.value.split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.length) body.tags = tags;
    if (webhookInput.value.trim()) body.webhook_url = webhookInput.value.trim();
    return body;
  };
  const update = () => {
    uploadPane.hidden = !sourceUpload.checked;
    urlPane.hidden = !sourceUrl.checked;
    kindPane.hidden = !modeKind.checked;
    presetPane.hidden = !modePreset.checked;
    curl.textContent = curlCommand(new URL("/v1/jobs", location.href).toString(), request(), { "Idempotency-Key": idempotencyKey });
    submit.disabled = input() === null || (modePreset.checked && !presetSelect.value);
  };
  form.addEventListener("input", update);
  form.addEventListener("change", (event) => {
    if (event.target === kindSelect || event.target === controls.get("format")) refreshChoices();
    update();
  });

  const startUpload = async (file: File) => {
    uploadId = null;
    update();
    uploadBar.hidden = false;
    uploadBar.value = 0;
    fill(uploadText, `Uploading ${file.name}…`);
    try {
      running = await uploadFile(file, {
        onProgress: (sent, total) => {
          const percent = total ? Math.floor((sent / total) * 100) : 0;
          uploadBar.value = percent;
          fill(uploadText, `${file.name}: ${bytes(sent)} of ${bytes(total)} (${percent} %)`);
        },
        onSuccess: (id) => {
          uploadId = id;
          running = null;
          uploadBar.value = 100;
          pauseButton.hidden = true;
          fill(uploadText, `${file.name} is uploaded as `, h("code", { id: "upload-id" }, id), ".");
          update();
        },
        onError: (message) => {
          running = null;
          pauseButton.hidden = true;
          fill(uploadText, alertBox(`The upload failed: ${message}. Choose the file again to resume.`));
        },
      });
      pauseButton.hidden = false;
      fill(pauseButton, "Pause");
    } catch (err) {
      fill(uploadText, alertBox(`Could not start the upload: ${(err as Error).message}`));
    }
  };
  pauseButton.addEventListener("click", () => {
    if (!running) return;
    const paused = pauseButton.textContent === "Resume";
    if (paused) running.resume();
    else running.pause();
    fill(pauseButton, paused ? "Pause" : "Resume");
  });
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    if (file) void startUpload(file);
  });
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("over");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("over");
    const file = event.dataTransfer?.files[0];
    if (file) void startUpload(file);
  });
  // The label opens the file chooser on click; Enter and Space do the same from the keyboard.
  dropZone.tabIndex = 0;
  dropZone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      fileInput.click();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    fill(problem);
    try {
      const job = await api<Job>("/v1/jobs", { body: request(), headers: { "idempotency-key": idempotencyKey } });
      idempotencyKey = crypto.randomUUID();
      navigate(jobHref(job.id));
    } catch (err) {
      const failure = err instanceof ApiError ? err : null;
      // A validation error lists every issue, each with its field's path.
      const issues = (failure?.details as { issues?: { path: string; message: string }[] } | undefined)?.issues ?? [];
      fill(
        problem,
        alertBox([
          failure ? `${failure.message} (${failure.code})` : String(err),
          issues.length > 1 ? h("ul", {}, issues.map((issue) => h("li", {}, issue.path ? `${issue.path}: ${issue.message}` : issue.message))) : null,
        ]),
      );
      submit.disabled = false;
    }
  });

  (async () => {
    try {
      const [builtin, own] = await Promise.all([
        api<{ data: Preset[] }>("/v1/presets?scope=builtin", { signal: controller.signal }),
        api<{ data: Preset[] }>("/v1/presets?limit=100", { signal: controller.signal }),
      ]);
      fill(
        presetSelect,
        h("option", { value: "" }, "Choose a preset"),
        own.data.length ? h("optgroup", { label: "This organization's" }, own.data.map((p) => h("option", { value: p.id ?? p.slug }, `${p.name} (${p.slug})`))) : null,
        h("optgroup", { label: "Built in" }, builtin.data.map((p) => h("option", { value: p.slug }, p.name === p.slug ? p.slug : `${p.name} (${p.slug})`))),
      );
    } catch (err) {
      if ((err as Error).name !== "AbortError") fill(presetSelect, h("option", { value: "" }, "Presets could not be read"));
    }
    update();
  })();

  refreshChoices();
  update();
  return () => {
    controller.abort();
    running?.pause();
  };
}
