import "./style.css";
import { KEY_REFUSED } from "./api";
import { fill, h } from "./dom";
import { type Cleanup, type Route, navigate, parseRoute } from "./router";
import { session } from "./session";
import { renderJob } from "./views/job";
import { renderJobs } from "./views/jobs";
import { renderNewJob } from "./views/new-job";
import { renderSignIn } from "./views/sign-in";

const main = document.getElementById("main")!;
const nav = document.getElementById("nav")!;
let cleanup: Cleanup | void;
let refusal: string | null = null;

function renderNav(route: Route): void {
  if (!session.key()) return fill(nav);
  const link = (href: string, text: string, current: boolean) => h("a", { href, "aria-current": current ? "page" : null }, text);
  fill(
    nav,
    link("#/", "Jobs", route.name === "jobs" || route.name === "job"),
    link("#/new", "New job", route.name === "new"),
    h("a", { href: "/docs" }, "API reference"),
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          session.signOut();
          navigate("#/sign-in");
        },
      },
      "Sign out",
    ),
  );
}

let rendered = false;

function render(): void {
  // Other hashes (the skip link's #main) are in-page anchors: they keep the view, or open the jobs on a first load.
  let route = parseRoute(location.hash || "#/") ?? (rendered ? null : parseRoute("#/"));
  if (!route) return;
  if (!session.key() && route.name !== "sign-in") {
    const next = location.hash || "#/";
    route = { name: "sign-in", next };
    history.replaceState(null, "", `#/sign-in?next=${encodeURIComponent(next)}`);
  }
  cleanup?.();
  cleanup = undefined;
  renderNav(route);
  main.replaceChildren();
  switch (route.name) {
    case "sign-in":
      cleanup = renderSignIn(main, route.next, refusal);
      refusal = null;
      break;
    case "jobs":
      cleanup = renderJobs(main, route.query);
      break;
    case "job":
      cleanup = renderJob(main, route.id);
      break;
    case "new":
      cleanup = renderNewJob(main);
      break;
  }
  // After a navigation, the new view is where keyboard and screen-reader users carry on (sign-in focuses its field).
  if (rendered && route.name !== "sign-in") main.focus({ preventScroll: true });
  rendered = true;
}

// The key was refused mid-session (revoked): back to signing in, saying why.
window.addEventListener(KEY_REFUSED, (event) => {
  if (!session.key()) return;
  session.signOut();
  refusal = `Signed out: ${(event as CustomEvent<string>).detail}`;
  navigate(`#/sign-in?next=${encodeURIComponent(location.hash || "#/")}`);
});
window.addEventListener("hashchange", render);
render();
