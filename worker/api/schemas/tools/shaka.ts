import { z } from "@hono/zod-openapi";
import { dashSegmentBase } from "../../../../encoder/contract";
import { relativeDir, relativeFile, toolFileEntry } from "./paths";

// shaka:package_dash — DASH packaging by Kiln's own packager (ffmpeg stream copy and
// Kiln's CENC ClearKey), as Shaka Packager is not available here. VTK documents the
// parameters of its Widevine variant (shaka:package_dash_wvapi); the names that apply to
// plain DASH are kept, and those of key servers and other DRM systems are refused by name.

/**
 * Parameters of Widevine/PlayReady packaging and key servers. Each is refused with its own
 * code, so a VTK script learns that the packager here does ClearKey only, not that it
 * misspelled something.
 */
const OTHER_DRM_PARAMETERS = [
  "protection_systems",
  "enable_widevine_encryption",
  "enable_playready_encryption",
  "key_server_url",
  "signer",
  "aes_signing_key",
  "aes_signing_iv",
  "rsa_signing_key_path",
  "content_id",
  "policy",
  "group_id",
  "max_hd_pixels",
  "crypto_period_duration",
] as const;

const otherDrm = (name: string) => ({
  code: "custom" as const,
  path: [name],
  params: { code: "drm_system_unsupported" },
  message: `${name} belongs to Widevine/PlayReady packaging with a key server, which Kiln's packager does not do: it writes CENC with a ClearKey key (protection_scheme "cenc", clear_key {key_id, key})`,
});

const hex16 = z
  .string()
  .regex(/^[0-9a-fA-F]{32}$/, "16 bytes as 32 hex digits")
  .transform((hex) => hex.toLowerCase());

/** VTK writes numbers as strings too ("1500000"). */
const bitsPerSecond = z
  .union([z.number(), z.string().regex(/^\d+$/, "bits per second").transform(Number)])
  .pipe(z.number().int().min(1).max(100_000_000_000));

/**
 * Shaka's `stream_selector`: `video`, `audio`, or a stream's index in its file ("0" or 0).
 * `text` is refused: the packager writes video and audio only.
 */
const streamSelector = z.union([z.number(), z.string()]).transform((selector, ctx) => {
  if (selector === "video" || selector === "audio") return selector;
  const index = typeof selector === "number" ? selector : /^\d{1,4}$/.test(selector) ? Number(selector) : Number.NaN;
  if (Number.isInteger(index) && index >= 0 && index <= 1023) return index;
  ctx.addIssue(
    selector === "text"
      ? { code: "custom", params: { code: "stream_selector_unsupported" }, message: "text streams are not packaged by Kiln's packager: video and audio only" }
      : { code: "custom", message: `"video", "audio" or a stream index (0–1023), not ${JSON.stringify(selector)}` },
  );
  return z.NEVER;
});

const dashInput = z
  .strictObject({
    input_file: relativeFile,
    stream_selector: streamSelector,
    /** The base of the stream's segment names: `{output}_init.mp4`, `{output}_{n}.m4s` (a media extension on it dropped). */
    output: toolFileEntry({ wildcards: false, tool: "shaka:package_dash" }),
    /** Shaka's fMP4 only. */
    output_format: z.enum(["mp4"], { message: "Kiln's packager writes fragmented MP4 segments: output_format mp4" }).optional(),
    bandwidth: bitsPerSecond.optional(),
    drm_label: z.unknown().optional(),
  })
  .superRefine((input, ctx) => {
    if (input.drm_label !== undefined) ctx.addIssue(otherDrm("drm_label"));
  })
  .transform(({ drm_label: _, output_format: __, ...input }) => input);

export const shakaPackageDashParameters = z
  .strictObject({
    inputs: z.array(dashInput).min(1).max(20),
    /** Where the package is written, in the working directory. */
    output_dir: relativeDir.default("dash"),
    /** The MPD's name in output_dir. */
    mpd_output: toolFileEntry({ wildcards: false, tool: "shaka:package_dash" }).default("manifest.mpd"),
    /** Target segment length in seconds (Shaka's name); segments start at the input's key frames. */
    segment_duration: z.union([z.number(), z.string().regex(/^\d+(\.\d+)?$/).transform(Number)]).pipe(z.number().min(1).max(60)).optional(),
    /** `cenc` only (AES-CTR); cbcs and the others are refused. */
    protection_scheme: z.string().optional(),
    /** Kiln's addition: the ClearKey key. With protection_scheme cenc and no clear_key, the encoder generates one. */
    clear_key: z.strictObject({ key_id: hex16, key: hex16 }).optional(),
    ...(Object.fromEntries(OTHER_DRM_PARAMETERS.map((name) => [name, z.unknown().optional()])) as Record<(typeof OTHER_DRM_PARAMETERS)[number], z.ZodOptional<z.ZodUnknown>>),
  })
  .superRefine((p, ctx) => {
    for (const name of OTHER_DRM_PARAMETERS) if (p[name] !== undefined) ctx.addIssue(otherDrm(name));
    if (p.protection_scheme !== undefined && p.protection_scheme !== "cenc") {
      ctx.addIssue({ code: "custom", path: ["protection_scheme"], params: { code: "invalid_drm" }, message: `Kiln's packager writes protection_scheme cenc (AES-CTR) only, not ${JSON.stringify(p.protection_scheme)}` });
    }
    const bases = new Map<string, number>();
    p.inputs.forEach((input, i) => {
      const base = dashSegmentBase(input.output);
      const first = bases.get(base);
      if (first !== undefined) ctx.addIssue({ code: "custom", path: ["inputs", i, "output"], message: `inputs ${first} and ${i} would write the same segments (${base}_…): each stream needs its own output` });
      else bases.set(base, i);
    });
  })
  .transform((p) => ({
    inputs: p.inputs,
    output_dir: p.output_dir,
    mpd_output: p.mpd_output,
    ...(p.segment_duration === undefined ? {} : { segment_duration: p.segment_duration }),
    // clear_key alone means cenc: a key is given to encrypt with it.
    ...(p.protection_scheme !== undefined || p.clear_key !== undefined ? { protection_scheme: "cenc" as const } : {}),
    ...(p.clear_key === undefined ? {} : { clear_key: p.clear_key }),
  }));
