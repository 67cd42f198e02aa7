import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { WorkOrder } from "../contract";
import { finishCmafMediaPlaylist, playlistEntries, startAtBeginning } from "../ffmpeg/playlists";
import { contentTypeOf } from "../media/content-types";
import type { NetworkAccess } from "../net/guarded-fetch";
import { type FileToStore, signUploads } from "./export";
import { createLimiter, putRange, uploadNetwork } from "./upload";

/**
 * How often the packages are looked at while ffmpeg writes them: a segment waits at most
 * this long to go out. 50 ms was measured (bench:first-segment, 3 runs each): no earlier
 * first segment within the noise, and the whole package 3–4 s later, from more and
 * smaller signing batches and uploads beside the encode.
 */
const POLL_MS = 200;
const UPLOAD_CONCURRENCY = 4;
/** Where the playlists as published are written (outside every package: a working-dir name no output can have). */
const SCRATCH = ".progressive";

/** A package to publish while ffmpeg writes it (see publishedProgressively). */
export interface ProgressivePackage {
  outputId: string;
  taskId: string;
  /** Its master playlist, relative to the working dir; its media playlists are the other .m3u8 files under the master's directory. */
  main: string;
  /** The master's edits that need only the plan (audio labels…), as the package will show them. */
  editMaster: (master: string) => string;
}

interface PackageState {
  pkg: ProgressivePackage;
  /** Every file stored so far, with the SHA-256 of the bytes stored. */
  stored: Map<string, string>;
  /** Each media playlist's text as ffmpeg wrote it when it was last stored. */
  playlists: Map<string, string>;
  masterStored: boolean;
}

interface Upload {
  state: PackageState;
  /** Where it is stored: its path in the package, relative to the working dir. */
  file: FileToStore;
  /** What is read for it, relative to the working dir: the file itself, or the playlist as published. */
  source: string;
  /** The text of a media playlist, remembered once it is stored. */
  playlistText?: string;
}

/**
 * Publishes HLS packages while ffmpeg writes them, so a player can start seconds after
 * the first segment is closed instead of after the whole encode. Every POLL_MS it
 * reads each package's media playlists: a segment is complete once its playlist names
 * it (ffmpeg rewrites the playlist, atomically, after closing a segment). What is new
 * is signed in one batch through the export's signing route and stored in order:
 * init segments and segments, then the playlists naming them (EVENT, starting players
 * at the beginning), then, once every media playlist it names has a segment, the
 * master; `onPlayable` is then told, once per package. A failure stops publishing (the
 * export after the run stores everything anyway); the job's signal stops it at once.
 */
export class ProgressivePublisher {
  private readonly states: PackageState[];
  private readonly loop: Promise<void>;
  private halted = false;
  private wake: () => void = () => {};

  constructor(
    private readonly order: WorkOrder,
    private readonly dir: string,
    packages: ProgressivePackage[],
    private readonly options: { signal: AbortSignal; network: NetworkAccess; onPlayable: (pkg: ProgressivePackage) => void },
  ) {
    this.states = packages.map((pkg) => ({ pkg, stored: new Map(), playlists: new Map(), masterStored: false }));
    options.signal.addEventListener("abort", () => this.wake(), { once: true });
    this.loop = this.run();
  }

  /**
   * Stops publishing once the uploads under way are done (or at once when the job's
   * signal aborts them) and answers what each output has stored: path → SHA-256.
   */
  async finish(): Promise<Map<string, Map<string, string>>> {
    this.halted = true;
    this.wake();
    await this.loop;
    return new Map(this.states.map((s) => [s.pkg.outputId, s.stored]));
  }

  private get stopped(): boolean {
    return this.halted || this.options.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.publishNew();
      } catch (err) {
        if (!this.options.signal.aborted) {
          console.error(JSON.stringify({ level: "error", job_id: this.order.job_id, message: `progressive publish stopped, the export will store the package: ${String(err)}` }));
        }
        return;
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One look at every package: whatever is complete and not yet stored goes out, in order. */
  private async publishNew(): Promise<void> {
    const media: Upload[] = [];
    const playlists: Upload[] = [];
    const masters: Upload[] = [];
    for (const state of this.states) {
      const root = path.dirname(state.pkg.main);
      const queued = new Set<string>();
      for (const file of await this.mediaPlaylists(root, state.pkg.main)) {
        const text = await this.readPlaylist(file);
        if (text === null || text === state.playlists.get(file)) continue;
        const { maps, segments } = playlistEntries(text);
        const named = [...new Set(maps), ...segments].map((uri) => inside(root, path.dirname(file), uri));
        if (segments.length === 0 || named.some((n) => n === null)) continue;
        const fresh = (named as string[]).filter((n) => !state.stored.has(n) && !queued.has(n));
        const files = await Promise.all(fresh.map((n) => this.describe(n, n)));
        if (files.some((f) => f === null)) continue;
        for (const f of files) {
          queued.add(f!.path);
          media.push({ state, file: f!, source: f!.path });
        }
        const published = await this.scratch(file, startAtBeginning(finishCmafMediaPlaylist(text, "event")));
        playlists.push({ state, file: (await this.describe(file, published))!, source: published, playlistText: text });
      }
      if (state.masterStored) continue;
      const master = await this.readPlaylist(state.pkg.main);
      if (master === null) continue;
      const variants = playlistEntries(master).playlists.map((uri) => inside(root, root, uri));
      const withSegments = (file: string | null) => file !== null && (state.playlists.has(file) || playlists.some((p) => p.state === state && p.file.path === file));
      if (variants.length === 0 || !variants.every(withSegments)) continue;
      const published = await this.scratch(state.pkg.main, startAtBeginning(state.pkg.editMaster(master)));
      masters.push({ state, file: (await this.describe(state.pkg.main, published))!, source: published });
    }
    const all = [...media, ...playlists, ...masters];
    if (all.length === 0 || this.stopped) return;

    const plans = await signUploads(this.order, all.map((u) => ({ outputId: u.state.pkg.outputId, file: u.file })), { multipart: false, signal: this.options.signal });
    const limit = createLimiter(UPLOAD_CONCURRENCY);
    const network = uploadNetwork(this.options.network, this.order.limits);
    const store = async (uploads: Upload[]) => {
      // Every upload settles before a failure is told: none is left running behind the publisher.
      const results = await Promise.allSettled(
        uploads.map((u) =>
          limit(async () => {
            const plan = plans.get(u.file.path);
            if (!plan || plan.kind !== "put") throw new Error(`no single upload URL was signed for ${u.file.path}`);
            const target = { url: plan.url, headers: plan.headers, offset: 0, size: u.file.size_bytes, contentType: u.file.content_type };
            const { sha256 } = await putRange(this.dir, u.source, target, u.file.path, this.options.signal, network, { hash: true });
            u.state.stored.set(u.file.path, sha256!);
            if (u.playlistText !== undefined) u.state.playlists.set(u.file.path, u.playlistText);
          }),
        ),
      );
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    };
    // Each stage waits for the one before: nothing is named before it is stored.
    await store(media);
    await store(playlists);
    await store(masters);
    for (const { state } of masters) {
      state.masterStored = true;
      this.options.onPlayable(state.pkg);
    }
  }

  /** The media playlists under the package's directory, relative to the working dir. */
  private async mediaPlaylists(root: string, main: string): Promise<string[]> {
    const entries = await readdir(path.join(this.dir, root), { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isFile() && e.name.endsWith(".m3u8"))
      .map((e) => path.relative(this.dir, path.join(e.parentPath, e.name)))
      .filter((file) => file !== main)
      .sort();
  }

  /** A playlist as ffmpeg last wrote it whole (it writes a new one beside the old and renames it); null when there is none yet. */
  private async readPlaylist(file: string): Promise<string | null> {
    const text = await readFile(path.join(this.dir, file), "utf8").catch(() => null);
    return text !== null && text.startsWith("#EXTM3U") && text.endsWith("\n") ? text : null;
  }

  /** The file stored at `file` with the bytes of `source`; null when there is no such file (yet). */
  private async describe(file: string, source: string): Promise<FileToStore | null> {
    const info = await stat(path.join(this.dir, source)).catch(() => null);
    return info?.isFile() ? { path: file, content_type: contentTypeOf(file), size_bytes: info.size } : null;
  }

  private async scratch(file: string, text: string): Promise<string> {
    const published = path.join(SCRATCH, file);
    await mkdir(path.join(this.dir, path.dirname(published)), { recursive: true });
    await writeFile(path.join(this.dir, published), text);
    return published;
  }
}

/** A playlist's relative URI as a path relative to the working dir, or null when it is a URL or leads out of the package. */
function inside(root: string, from: string, uri: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("/")) return null;
  const file = path.normalize(path.join(from, uri));
  return file.startsWith(`${root}/`) ? file : null;
}
