import { z } from "@hono/zod-openapi";
import { isBucketUri, parseToolLocation } from "../../../origins/uri";
import { relativeDir, toolFileEntry } from "./paths";

// The storage tools: a folder (`location`) and the files in it a task fetches, stores or checks.

const HTTP_LOCATION = /^https?:\/\/[^\s/$.?#][^\s]*$/i;
/** `scheme://KEY:SECRET@…`: credentials written into the location itself. */
const INLINE_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^/{}@]*:[^/{}@]*@/i;

/**
 * A folder: of a bucket, `s3://[{secret}@]bucket/path/`, `gs://…` or `r2://…` (resolved
 * to an origin or secret at creation, like `input` and `output`), or (`http: true`) an
 * http(s) URL the files' names are appended to. Credentials written into a location
 * are refused: they would be stored with the job and shown in its view.
 */
function storageLocation(options: { http: boolean; tool: string }) {
  return z
    .string()
    .max(2048)
    .superRefine((location, ctx) => {
      if (INLINE_CREDENTIALS.test(location)) {
        ctx.addIssue({
          code: "custom",
          params: { code: "inline_credentials" },
          message: "credentials are not written into a location: store them as a named secret (POST /v1/secrets) and write s3://{secret-name}@bucket/path/",
        });
        return;
      }
      if (HTTP_LOCATION.test(location)) {
        if (!options.http) ctx.addIssue({ code: "custom", message: `${options.tool} writes to a bucket: s3://[{secret}@]bucket/path/, gs://… or r2://…` });
        return;
      }
      if (isBucketUri(location)) {
        const parsed = parseToolLocation(location);
        if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.problem });
        return;
      }
      ctx.addIssue({ code: "custom", message: `s3://[{secret}@]bucket/path/, gs://…, r2://…${options.http ? " or an http(s) URL" : ""}` });
    });
}

export const storageGetParameters = z.strictObject({
  location: storageLocation({ http: true, tool: "storage:get" }),
  files: z.array(toolFileEntry({ wildcards: false, tool: "storage:get" })).min(1).max(100),
  /** Where in the working directory the files land. */
  base_dir: relativeDir.default(""),
});

export const storagePutParameters = z.strictObject({
  location: storageLocation({ http: false, tool: "storage:put" }),
  /** Names, or patterns (`*`, `?`) matched in base_dir when the task runs. */
  files: z.array(toolFileEntry({ wildcards: true, tool: "storage:put" })).min(1).max(100),
  /** false: a file whose object already exists fails the task (`object_exists`). */
  overwrite: z.boolean().default(false),
  /** Where in the working directory the files are taken from. */
  base_dir: relativeDir.default(""),
});

export const checkModes = ["FAIL_ON_PRESENCE", "COMPLETE_ON_PRESENCE", "FAIL_ON_ABSENCE"] as const;

export const storageCheckParameters = z.strictObject({
  location: storageLocation({ http: true, tool: "storage:check" }),
  files: z.array(toolFileEntry({ wildcards: false, tool: "storage:check" })).min(1).max(100),
  /**
   * FAIL_ON_PRESENCE: any file there fails the job; COMPLETE_ON_PRESENCE: all there
   * completes it at once, the tasks after skipped; FAIL_ON_ABSENCE (the default): any
   * missing fails it.
   */
  mode: z.enum(checkModes).default("FAIL_ON_ABSENCE"),
});
