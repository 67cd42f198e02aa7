/**
 * Routes live in the hash (#/jobs/job_…), so the Worker serves one page at / and no
 * dashboard path can collide with the API's or a dialect's (/jobs is Ittybit's).
 */
export type Route =
  | { name: "jobs"; query: URLSearchParams }
  | { name: "job"; id: string }
  | { name: "new" }
  | { name: "sign-in"; next: string };

export function parseRoute(hash: string): Route | null {
  if (!hash.startsWith("#/")) return null;
  const [path = "", search = ""] = hash.slice(1).split("?");
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job) return { name: "job", id: decodeURIComponent(job[1]!) };
  if (path === "/new") return { name: "new" };
  if (path === "/sign-in") return { name: "sign-in", next: new URLSearchParams(search).get("next") ?? "#/" };
  return { name: "jobs", query: new URLSearchParams(search) };
}

export const jobHref = (id: string) => `#/jobs/${encodeURIComponent(id)}`;

export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** What a view leaves running (sockets, timers), stopped when another view replaces it. */
export type Cleanup = () => void;
