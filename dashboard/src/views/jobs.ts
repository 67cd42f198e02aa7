import { ApiError, api } from "../api";
import { alertBox, fill, h } from "../dom";
import { label, time } from "../format";
import { type Cleanup, jobHref, navigate } from "../router";
import { type JobList, type JobSummary, jobStatuses } from "../types";
import { statusBadge } from "./status";

/** How often the list is read again while the tab is visible. */
const REFRESH_MS = 3000;
const PAGE = 20;

/**
 * The organization's jobs, newest first, filtered by status, tag and search (the filters
 * live in the URL, so a filtered list can be shared or reloaded). The rows shown are read
 * again every few seconds, so statuses and progress stay live.
 */
export function renderJobs(main: HTMLElement, query: URLSearchParams): Cleanup {
  const status = query.get("status") ?? "";
  const tag = query.get("tag") ?? "";
  const search = query.get("search") ?? "";

  const statusSelect = h("select", { id: "filter-status", name: "status" }, h("option", { value: "" }, "Any status"), jobStatuses.map((s) => h("option", { value: s, selected: s === status }, label(s))));
  const tagInput = h("input", { id: "filter-tag", name: "tag", type: "text", value: tag, placeholder: "e.g. launch", autocomplete: "off" });
  const searchInput = h("input", { id: "filter-search", name: "search", type: "search", value: search, placeholder: "job id or tag", autocomplete: "off" });
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter jobs" },
    h("p", { class: "field" }, h("label", { for: "filter-status" }, "Status"), statusSelect),
    h("p", { class: "field" }, h("label", { for: "filter-tag" }, "Tag"), tagInput),
    h("p", { class: "field" }, h("label", { for: "filter-search" }, "Search"), searchInput),
    h("p", {}, h("button", { type: "submit" }, "Filter")),
  );
  const apply = () => {
    const next = new URLSearchParams();
    if (statusSelect.value) next.set("status", statusSelect.value);
    if (tagInput.value.trim()) next.set("tag", tagInput.value.trim());
    if (searchInput.value.trim()) next.set("search", searchInput.value.trim());
    const qs = next.toString();
    navigate(qs ? `#/?${qs}` : "#/");
  };
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  statusSelect.addEventListener("change", apply);

  const count = h("p", { class: "hint", "aria-live": "polite" });
  const body = h("tbody");
  const problem = h("div");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const table = h(
    "table",
    { class: "jobs" },
    h("caption", { class: "visually-hidden" }, "Jobs, newest first"),
    h("thead", {}, h("tr", {}, ["Job", "Kind", "Status", "Progress", "Tags", "Created"].map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  main.append(h("div", { class: "heading" }, h("h1", {}, "Jobs"), h("a", { class: "button", href: "#/new" }, "New job")), filters, count, problem, table, h("p", {}, more));

  let rows: JobSummary[] = [];
  let cursor: string | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const controller = new AbortController();

  const params = (limit: number, after: string | null) => {
    const p = new URLSearchParams({ limit: String(limit) });
    if (status) p.set("status", status);
    if (tag) p.set("tag", tag);
    if (search) p.set("search", search);
    if (after) p.set("cursor", after);
    return p;
  };
  const draw = (total: number) => {
    fill(count, `${total} ${total === 1 ? "job" : "jobs"}`);
    fill(
      body,
      rows.length === 0
        ? h("tr", {}, h("td", { colspan: 6, class: "empty" }, status || tag || search ? "No job matches these filters." : "No jobs yet."))
        : rows.map((job) =>
            h(
              "tr",
              {},
              h("td", {}, h("a", { href: jobHref(job.id) }, h("code", {}, job.id))),
              h("td", {}, job.kind ?? job.mode),
              h("td", {}, statusBadge(job.status)),
              h("td", {}, h("progress", { max: 100, value: job.progress, "aria-label": `Progress of ${job.id}` }), ` ${job.progress} %`),
              h("td", {}, job.tags.map((t) => h("span", { class: "tag" }, t))),
              h("td", {}, h("time", { datetime: job.created_at }, time(job.created_at))),
            ),
          ),
    );
    more.hidden = cursor === null;
  };
  const fail = (err: unknown) => {
    if ((err as Error).name === "AbortError") return;
    fill(problem, alertBox(err instanceof ApiError ? `${err.message} (${err.code})` : String(err)));
  };
  // Reads again the rows already shown (up to 100), so live updates never drop a loaded page.
  const refresh = async () => {
    try {
      const page = await api<JobList>(`/v1/jobs?${params(Math.min(100, Math.max(PAGE, rows.length)), null)}`, { signal: controller.signal });
      rows = page.data;
      cursor = page.next_cursor;
      fill(problem);
      draw(page.total_count);
    } catch (err) {
      fail(err);
    }
    if (!stopped) timer = setTimeout(tick, REFRESH_MS);
  };
  const tick = () => {
    if (document.visibilityState === "visible") void refresh();
    else timer = setTimeout(tick, REFRESH_MS);
  };
  more.addEventListener("click", async () => {
    try {
      const page = await api<JobList>(`/v1/jobs?${params(PAGE, cursor)}`, { signal: controller.signal });
      rows = [...rows, ...page.data];
      cursor = page.next_cursor;
      draw(page.total_count);
    } catch (err) {
      fail(err);
    }
  });
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller.abort();
  };
}
