import { z } from "@hono/zod-openapi";
import { contentAwareDecisionSchema, engines } from "../../../encoder/contract";
import { dialects } from "../../jobs/dialects";
import { jobStatuses, outputStatuses, taskStatuses } from "../../jobs/model";
import { priorityNames } from "./create-job";
import { errorCodes } from "../../errors";

/** Response shapes, declared for the OpenAPI document. */
const isoTime = z.string().openapi({ format: "date-time" });
const errorObject = z.object({ code: z.string(), message: z.string() });

export const taskSchema = z
  .object({
    id: z.string().openapi({ example: "task_3k9v2m1x0q8w7e6r5t4y" }),
    kind: z.string().openapi({ description: "probe, import, a kind, encode, thumbnail, export, or a VTK tool" }),
    tool: z.string().nullable(),
    version: z.string().nullable(),
    output_id: z.string().nullable(),
    options: z.record(z.string(), z.unknown()),
    engine: z.enum(engines).openapi({ description: "The encoder engine that runs it: transcode (kind and outputs jobs) or tools (tool pipelines)" }),
    inputs: z.array(z.string()).openapi({ description: "What it reads: input (the job's input), file names of a tool pipeline's working directory, or output ids" }),
    outputs: z.array(z.string()).openapi({ description: "What it makes: file names, or the ids of the outputs it completes" }),
    depends_on: z.array(z.string()).openapi({ description: "The tasks that complete before it starts" }),
    status: z.enum(taskStatuses),
    progress: z.number().int().min(0).max(100),
    error: errorObject.nullable(),
    created_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
    updated_at: isoTime,
  })
  .openapi("Task");

export const taskLogSchema = z
  .object({
    task_id: z.string(),
    status: z.enum(taskStatuses),
    lines: z.array(z.object({ at: isoTime, text: z.string() })).openapi({ description: "The newest lines the task's process wrote (ffmpeg's stderr), oldest first" }),
    dropped: z.number().int().openapi({ description: "Older lines no longer kept: a task keeps its last 1,000 lines and 256 KiB" }),
  })
  .openapi("TaskLog");

export const outputSchema = z
  .object({
    id: z.string().openapi({ example: "out_m1n2o3p4q5r6s7t8u9v0" }),
    type: z.string(),
    status: z.enum(outputStatuses),
    spec: z.record(z.string(), z.unknown()),
    output_url: z.string().nullable().openapi({
      description:
        "The file, or a package's master playlist (hls, adaptive) or MPD (dash); a fresh signed URL on every read; for an output in a bucket, a presigned GET when its origin grants read. Set once the output is completed, or earlier for an HLS package that plays while it is made (see playable_at)",
    }),
    playable_at: isoTime.nullable().openapi({
      description:
        "When output_url started to play. An HLS package (adaptive_video, hls and adaptive outputs, except CENC-encrypted ones) is published as it is encoded: from the first segment of every variant its master playlist plays while the job is still processing, its media playlists growing (EVENT) until they end as VOD with the job. Other outputs: at completion",
    }),
    manifest_url: z.string().nullable().openapi({ description: "An adaptive package's MPD, over the same segments as its master playlist" }),
    drm: z
      .object({
        scheme: z.enum(["aes-128", "cenc"]),
        key_id: z.string().openapi({ description: "The key id (CENC KID), 32 hex digits; the key itself is never shown" }),
        key_url: z.string().openapi({
          description:
            "Kiln's key route, signed and expiring (a fresh URL on every read): the 16 key bytes for aes-128, the ClearKey license (JSON Web Key Set) for cenc. The playlists and MPD name the same route unsigned, which takes the API key",
        }),
      })
      .nullable()
      .openapi({ description: "An encrypted streaming output's key delivery" }),
    location: z.string().nullable().openapi({ example: "s3://my-bucket/out/job_a1b2/out_m1n2.mp4", description: "Where an output written to a bucket lives; null in managed storage" }),
    file_size_bytes: z.number().int().nullable(),
    facts: z
      .object({
        duration_ms: z.number().int().nullable(),
        width: z.number().int().nullable(),
        height: z.number().int().nullable(),
        codec: z.string().nullable(),
        sha256: z.string(),
        files: z.number().int(),
      })
      .nullable()
      .openapi({ description: "What ffprobe found in the file the encoder wrote" }),
    content_aware: contentAwareDecisionSchema
      .nullable()
      .openapi({ description: "For an output with content_aware, once completed: the complexity score (0 flat … 100 noise) and the CRF and peak-rate cap each rung was encoded with" }),
    error: errorObject.nullable(),
  })
  .openapi("Output");

const usageFigures = {
  compute_units: z.number().openapi({ description: "Minutes an encoder slot spent running" }),
  video_minutes_in: z.number().openapi({ description: "Minutes of input media (counted once, on import); a clipped job's clip" }),
  video_minutes_out: z.number().openapi({ description: "Minutes of output media, as ffprobe measured it" }),
  gb_in: z.number(),
  gb_out: z.number(),
};

export const usageSchema = z
  .object({
    ...usageFigures,
    tasks: z.array(z.object({ task_id: z.string(), kind: z.string(), ...usageFigures })),
  })
  .openapi("Usage", { description: "What the job used, per task and in total (the sum of its tasks)" });

export const executionSchema = z
  .object({
    probe_duration_ms: z.number().int().nullable(),
    encode_duration_ms: z.number().int().nullable().openapi({ description: "First encode task started to last one finished, in the last attempt" }),
    total_duration_ms: z.number().int().nullable().openapi({ description: "Started to ended, less any wait for confirmation" }),
  })
  .openapi("Execution");

export const jobSchema = z
  .object({
    id: z.string().openapi({ example: "job_a1b2c3d4e5f6g7h8j9k0" }),
    object: z.literal("job"),
    status: z.enum(jobStatuses),
    progress: z.number().int().min(0).max(100),
    current_stage: z.string().nullable(),
    priority: z.enum(priorityNames),
    kind: z.string().nullable(),
    options: z.record(z.string(), z.unknown()).nullable(),
    requested_options: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "A kind job's options as the request wrote them, without the defaults `options` shows (older jobs: the same as options)" }),
    input: z.string().nullable(),
    input_origin_id: z.string().nullable(),
    input_path: z.string().nullable(),
    output: z.string().nullable(),
    output_origin_id: z.string().nullable(),
    output_path_template: z.string().nullable(),
    tasks: z.array(taskSchema),
    outputs: z.array(outputSchema),
    thumbnails: z.array(z.record(z.string(), z.unknown())),
    clip: z
      .object({ start_seconds: z.number(), end_seconds: z.number() })
      .nullable()
      .openapi({
        description:
          "The part of the input an outputs job covers, in seconds of the input (to 0.1 ms); null for the whole input. Every output and thumbnail is cut to it; an end past the input's is clamped to it, a start at or past it fails the job with input_clip_out_of_range",
      }),
    input_metadata: z.record(z.string(), z.unknown()).nullable(),
    currency: z.literal("EUR"),
    total_estimated_cost: z.number().nullable().openapi({ description: "From the price table once the input is probed (a clipped job at the clip's length); null for tool pipelines" }),
    total_actual_cost: z.number().nullable().openapi({ description: "Once the job has ended: its completed outputs at their measured durations" }),
    execution: executionSchema,
    usage: usageSchema,
    error: errorObject.nullable(),
    tags: z.array(z.string()),
    metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    bundle: z.string().nullable(),
    region: z.string().nullable(),
    webhook_url: z.string().nullable(),
    webhook_events: z.array(z.string()),
    dialect: z.enum(dialects).nullable().openapi({ description: "The vendor API the job was created through (its webhooks take that vendor's shape), or null for the native API" }),
    delayed_start: z.boolean(),
    idempotency_key: z.string().nullable(),
    resubmitted_from: z.string().nullable(),
    attempt: z.number().int(),
    waiting_for_encoder: z.boolean().openapi({ description: "The attempt is queued behind a full encoder pool, its next try pending" }),
    created_at: isoTime,
    updated_at: isoTime,
    started_at: isoTime.nullable(),
    probed_at: isoTime.nullable(),
    confirmed_at: isoTime.nullable(),
    completed_at: isoTime.nullable(),
  })
  .openapi("Job");

export const jobSummarySchema = z
  .object({
    id: z.string(),
    object: z.literal("job"),
    status: z.enum(jobStatuses),
    progress: z.number().int(),
    current_stage: z.string().nullable(),
    priority: z.string(),
    mode: z.string(),
    kind: z.string().nullable(),
    input: z.string().nullable(),
    tags: z.array(z.string()),
    bundle: z.string().nullable(),
    error_code: z.string().nullable(),
    created_at: isoTime,
    updated_at: isoTime,
    started_at: isoTime.nullable(),
    completed_at: isoTime.nullable(),
  })
  .openapi("JobSummary");

export const jobListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(jobSummarySchema),
    next_cursor: z.string().nullable(),
    total_count: z.number().int().openapi({
      description:
        "How many jobs match the filter. Exact with no filter or only `status`. With `tag`, `search` or `bundle` it counts at most 10,000 jobs: 10,000 means at least that many. A `search` that is a common word (more than 1,000 hits in the search index) or shorter than 3 characters is an estimate: the share of the organization's 1,000 newest jobs that match, times its job count (at least the jobs this page holds, plus one if there are more).",
    }),
  })
  .openapi("JobList");

export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      // The full set, so clients (sdk/) can type their errors by code.
      code: z.enum(errorCodes),
      message: z.string(),
      details: z.unknown().optional(),
      request_id: z.string(),
    }),
  })
  .openapi("Error");
