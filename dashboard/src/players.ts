import { h } from "./dom";
import type { Output } from "./types";

/**
 * Previews of a completed output: HLS in hls.js, DASH in dash.js (each loaded only when
 * an output needs it), files in the browser's own <video>, <audio> or <img>.
 */
const VIDEO_FILES = ["mp4", "webm", "mov", "mkv", "m4v"];
const AUDIO_FILES = ["mp3", "aac", "ogg", "opus", "wav", "flac", "m4a"];
const IMAGE_FILES = ["jpeg", "jpg", "png", "webp", "avif", "gif", "thumbnail"];

type Engine = "hls" | "dash" | "video" | "audio" | "image" | null;

export function engineFor(output: Output): Engine {
  if (!output.output_url) return null;
  if (output.type === "hls") return "hls";
  if (output.type === "dash") return "dash";
  // An adaptive package is both: its CENC form plays as DASH (ClearKey in EME), the rest as HLS.
  if (output.type === "adaptive") return output.drm?.scheme === "cenc" && output.manifest_url ? "dash" : "hls";
  if (VIDEO_FILES.includes(output.type)) return "video";
  if (AUDIO_FILES.includes(output.type)) return "audio";
  if (IMAGE_FILES.includes(output.type)) return "image";
  return null;
}

export interface Preview {
  element: HTMLElement;
  destroy(): void;
}

/** The preview of an output, or null when the browser has nothing to show it with. */
export function preview(output: Output): Preview | null {
  const engine = engineFor(output);
  if (engine === null) return null;
  const url = output.output_url!;
  const label = `Output ${output.id} (${output.type})`;
  if (engine === "image") return { element: h("img", { src: url, alt: label, loading: "lazy" }), destroy: () => undefined };
  if (engine === "audio") return { element: h("audio", { src: url, controls: true, preload: "metadata", "aria-label": label }), destroy: () => undefined };

  const video = h("video", { controls: true, playsinline: true, preload: "metadata", "aria-label": label, "data-output": output.id });
  const error = h("p", { class: "notice error player-error", role: "alert", hidden: true });
  const element = h("div", { class: "player" }, video, error);
  const fail = (message: string) => {
    video.dataset.playerError = message;
    error.textContent = `Playback failed: ${message}`;
    error.hidden = false;
  };
  if (engine === "video") {
    video.src = url;
    video.addEventListener("error", () => fail(video.error?.message || `media error ${video.error?.code ?? ""}`));
    return { element, destroy: () => video.removeAttribute("src") };
  }
  let destroy = () => undefined as void;
  let destroyed = false;
  const started = engine === "hls" ? playHls(video, output, fail) : playDash(video, output, fail);
  started.then(
    (stop) => {
      if (destroyed) stop();
      else destroy = stop;
    },
    (err) => fail(`could not load the player (${(err as Error).message})`),
  );
  return {
    element,
    destroy: () => {
      destroyed = true;
      destroy();
    },
  };
}

/** The key route's path of an output, which its playlists name unsigned (it would take the API key). */
const keyRoute = (output: Output) => `/outputs/${output.id}/key`;

async function playHls(video: HTMLVideoElement, output: Output, fail: (message: string) => void): Promise<() => void> {
  const { default: Hls } = await import("hls.js");
  const url = output.output_url!;
  if (!Hls.isSupported()) {
    // Safari plays HLS itself (an AES-128 key then comes from the playlist's unsigned URI, which needs the key header it cannot send).
    if (!video.canPlayType("application/vnd.apple.mpegurl")) fail("this browser cannot play HLS");
    video.src = url;
    return () => video.removeAttribute("src");
  }
  const drm = output.drm;
  const hls = new Hls({
    // An AES-128 playlist names Kiln's key route without a signature; the job's view has a
    // signed key_url for the same key, so the player asks that one and never holds the API key.
    xhrSetup:
      drm?.scheme === "aes-128"
        ? (xhr, requested) => {
            if (new URL(requested, location.href).pathname.endsWith(keyRoute(output))) xhr.open("GET", drm.key_url, true);
          }
        : undefined,
  });
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (data.fatal) fail(`${data.type}: ${data.details}`);
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return () => hls.destroy();
}

async function playDash(video: HTMLVideoElement, output: Output, fail: (message: string) => void): Promise<() => void> {
  const dashjs = await import("dashjs");
  const player = dashjs.MediaPlayer().create();
  // The license request goes to the signed key_url: Kiln's key route answers a ClearKey
  // license (JSON Web Key Set) for the MPD's key id.
  if (output.drm?.scheme === "cenc") player.setProtectionData({ "org.w3.clearkey": { serverURL: output.drm.key_url } });
  player.on(dashjs.MediaPlayer.events.ERROR, (event: any) => fail(event?.error?.message ?? `dash.js error ${event?.error?.code ?? ""}`));
  player.initialize(video, output.type === "adaptive" ? output.manifest_url! : output.output_url!, false);
  return () => player.destroy();
}
