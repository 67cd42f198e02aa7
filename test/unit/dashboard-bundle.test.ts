import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DASHBOARD_OUT, SCALAR_ASSET, ensureDashboard } from "../../scripts/build-dashboard.mjs";

/** The dashboard's budget: JS fetched before anything is clicked, gzipped as it goes over the wire. */
const FIRST_LOAD_BUDGET = 150 * 1024;
const lazyLibraries = ["node_modules/hls.js/", "node_modules/dashjs/", "node_modules/tus-js-client/"];

describe("the dashboard build", () => {
  it("loads under 150 KB of JS first; hls.js, dash.js and tus-js-client come only on demand", async () => {
    const manifest = await ensureDashboard();
    const html = readFileSync(path.join(DASHBOARD_OUT, "index.html"), "utf8");
    const scripts = [...html.matchAll(/<(?:script type="module" src|link rel="modulepreload" href)="\/([^"]+)"/g)].map((m) => m[1]);
    // The page names exactly the first-load files, measured here from the served bytes.
    expect(scripts.sort()).toEqual(manifest.firstLoad.map((f) => f.file).sort());
    const firstLoad = scripts.reduce((sum, file) => sum + gzipSync(readFileSync(path.join(DASHBOARD_OUT, file!)), { level: 9 }).length, 0);
    console.log(`dashboard first load: ${(firstLoad / 1024).toFixed(1)} KB of JS gzipped; lazy: ${manifest.lazy.map((c) => `${c.file} ${(c.gzipBytes / 1024).toFixed(1)} KB`).join(", ")}`);
    expect(firstLoad).toBeLessThan(FIRST_LOAD_BUDGET);
    for (const library of lazyLibraries) {
      expect(manifest.firstLoad.flatMap((f) => f.inputs).filter((input) => input.startsWith(library))).toEqual([]);
      expect(manifest.lazy.some((chunk) => chunk.inputs.some((input) => input.startsWith(library)))).toBe(true);
    }
    expect(html).toContain(`<link rel="stylesheet" href="/${manifest.css}">`);
    // /docs loads the API reference's script from the assets, not from a CDN.
    expect(readFileSync(path.join(DASHBOARD_OUT, SCALAR_ASSET), "utf8")).toContain("createApiReference");
  });
});
