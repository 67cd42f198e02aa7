import type { DrmSpec } from "../contract";

/**
 * Encryption of streaming outputs, the pure parts: the hls muxer's key files and
 * arguments (AES-128), and the manifest edits that tell players how to get a key
 * (CENC ClearKey). The CENC packaging of segments is encoder/media/cenc.ts.
 *
 * The key never enters argv (which `ps` shows and error paths might echo): the hls
 * muxer reads it from a key file named by a key info file, both in the working
 * directory beside, not inside, the package, so they are never exported.
 */

export type Aes128 = Extract<DrmSpec, { scheme: "aes-128" }>;
export type Cenc = Extract<DrmSpec, { scheme: "cenc" }>;

/** A file the run needs that holds a secret: written before ffmpeg starts, removed after. */
export interface SecretFile {
  path: string;
  data: Buffer;
}

export const keyInfoFile = (outputId: string) => `${outputId}.keyinfo`;
const keyFile = (outputId: string) => `${outputId}.key`;

/**
 * The hls muxer's key info file: the URI the playlists name, then the key file. Without
 * a third (IV) line ffmpeg uses each segment's media sequence number as its IV and
 * writes it into the playlist's EXT-X-KEY.
 */
export function hlsKeyFiles(outputId: string, drm: Aes128): SecretFile[] {
  if (/[\r\n]/.test(drm.key_uri)) throw new Error("a key URI cannot hold a line break");
  return [
    { path: keyFile(outputId), data: Buffer.from(drm.key, "hex") },
    { path: keyInfoFile(outputId), data: Buffer.from(`${drm.key_uri}\n${keyFile(outputId)}\n`) },
  ];
}

export function hlsKeyArgs(outputId: string): string[] {
  return ["-hls_key_info_file", keyInfoFile(outputId)];
}

/** A key id as a UUID, the form `cenc:default_KID` takes. */
export function kidUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const CLEARKEY_SCHEME = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e";

function xml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * Signals CENC in every video and audio adaptation set: the mp4protection descriptor
 * with the default key id, and a ClearKey descriptor whose DASH-IF `Laurl` is Kiln's
 * license route (dash.js and Shaka read it). Without a license URL (a tool pipeline's
 * package, whose player is given the key) the ClearKey descriptor names none.
 */
export function addContentProtection(mpd: string, drm: Pick<Cenc, "key_id"> & { license_url?: string }): string {
  const clearKey =
    drm.license_url === undefined
      ? `<ContentProtection schemeIdUri="${CLEARKEY_SCHEME}" value="ClearKey1.0"/>`
      : `<ContentProtection schemeIdUri="${CLEARKEY_SCHEME}" value="ClearKey1.0"><dashif:Laurl>${xml(drm.license_url)}</dashif:Laurl></ContentProtection>`;
  const descriptors = `<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="${kidUuid(drm.key_id)}"/>${clearKey}`;
  let sets = 0;
  const edited = mpd
    .replace(/<MPD\b/, '<MPD xmlns:cenc="urn:mpeg:cenc:2013" xmlns:dashif="https://dashif.org/CPS"')
    .replace(/(<AdaptationSet\b[^>]*contentType="(?:video|audio)"[^>]*>)/g, (open: string) => {
      sets++;
      return `${open}\n\t\t\t${descriptors}`;
    });
  if (sets === 0) throw new Error("the MPD has no video or audio adaptation set to protect");
  return edited;
}

/**
 * The HLS media playlists of an adaptive package share the CENC segments: they name the
 * ClearKey license route as a SAMPLE-AES-CTR key (hls.js with EME plays them; Apple's
 * players, which want cbcs, do not).
 */
export function addCmafKey(playlist: string, drm: Cenc): string {
  const key = `#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="${drm.license_url.replace(/"/g, "%22")}",KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1"`;
  const lines = playlist.split("\n");
  const map = lines.findIndex((l) => l.startsWith("#EXT-X-MAP:"));
  if (map < 0) throw new Error("the media playlist has no EXT-X-MAP");
  return [...lines.slice(0, map), key, ...lines.slice(map)].join("\n");
}

/**
 * A copy of an encrypted HLS media playlist that reads locally, for verification: the
 * key URI points at the key file and segments at their files, by absolute path.
 */
export function localKeyPlaylist(playlist: string, keyPath: string, segmentDir: string): string {
  return playlist
    .split("\n")
    .map((line) => {
      if (line.startsWith("#EXT-X-KEY:")) return line.replace(/URI="[^"]*"/, `URI="${keyPath}"`);
      if (line !== "" && !line.startsWith("#")) return `${segmentDir}/${line}`;
      return line;
    })
    .join("\n");
}

export const localKeyPath = (dir: string, outputId: string) => `${dir}/${keyFile(outputId)}`;
