import type { OutputSpec } from "../api/schemas/outputs";

/**
 * Built-in presets by slug. An output naming one gets the preset's fields, with the
 * output's own fields taking precedence. Org presets (`pst_…`) come with the presets API.
 */
export const builtInPresets: Record<string, Required<Pick<OutputSpec, "type" | "video">> & Pick<OutputSpec, "audio">> = {
  web_480p_economy: { type: "mp4", video: [{ codec: "h264", resolution: "480p", quality: "economy" }], audio: [{ codec: "aac", bitrate: 96 }] },
  web_720p_standard: { type: "mp4", video: [{ codec: "h264", resolution: "720p", quality: "standard" }], audio: [{ codec: "aac", bitrate: 128 }] },
  web_1080p_standard: { type: "mp4", video: [{ codec: "h264", resolution: "1080p", quality: "standard" }], audio: [{ codec: "aac", bitrate: 128 }] },
  web_1080p_premium: { type: "mp4", video: [{ codec: "h264", resolution: "1080p", quality: "premium" }], audio: [{ codec: "aac", bitrate: 192 }] },
  webm_720p_standard: { type: "webm", video: [{ codec: "vp9", resolution: "720p", quality: "standard" }], audio: [{ codec: "opus", bitrate: 96 }] },
  hls_ladder_standard: {
    type: "hls",
    video: [
      { codec: "h264", resolution: "1080p", quality: "standard" },
      { codec: "h264", resolution: "720p", quality: "standard" },
      { codec: "h264", resolution: "480p", quality: "standard" },
    ],
    audio: [{ codec: "aac", bitrate: 128 }],
  },
};
