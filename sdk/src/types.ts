import type { components, paths } from "./generated/openapi";

/** The resources as the API answers them, from the OpenAPI document. */
type Schemas = components["schemas"];
export type Job = Schemas["Job"];
export type JobSummary = Schemas["JobSummary"];
export type JobList = Schemas["JobList"];
export type JobStatus = Job["status"];
export type Task = Schemas["Task"];
export type TaskLog = Schemas["TaskLog"];
export type Output = Schemas["Output"];
export type WatchEvent = Schemas["WatchEvent"];
export type Upload = Schemas["Upload"];
export type Origin = Schemas["Origin"];
export type Secret = Schemas["Secret"];
export type Preset = Schemas["Preset"];
export type ApiKey = Schemas["ApiKey"];
export type CreatedApiKey = Schemas["CreatedApiKey"];
export type WebhookSecret = Schemas["WebhookSecret"];
export type WebhookDelivery = Schemas["WebhookDelivery"];
export type WebhookEventType = WebhookDelivery["event_type"];

type JsonBody<Operation> = Operation extends { requestBody: { content: { "application/json": infer Body } } } ? Body : never;
type JsonResponse<Operation, Status extends number> = Operation extends { responses: { [S in Status]: { content: { "application/json": infer Body } } } } ? Body : never;
type Query<Operation> = Operation extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type WatchToken = JsonResponse<paths["/jobs/{id}/watch-token"]["post"], 201>;

export type CreateUploadRequest = Schemas["CreateUploadRequest"];
export type CreateOriginRequest = Schemas["CreateOriginRequest"];
export type CreateSecretRequest = Schemas["CreateSecretRequest"];
export type CreatePresetRequest = Schemas["CreatePresetRequest"];
export type CreateKeyRequest = JsonBody<paths["/keys"]["post"]>;

/** Any create-job body the API accepts; the forms below say which fields go together. */
export type JobRequest = JsonBody<paths["/jobs"]["post"]>;
type Forms = "kind" | "options" | "outputs" | "tasks" | "style";
type Shared = Omit<JobRequest, Forms>;
/** Ittybit's form: one output of a kind (`video`, `audio`, `image`, `animation`, `adaptive_video`) and its options. */
export type KindJobRequest = Shared & Required<Pick<JobRequest, "kind">> & Pick<JobRequest, "options">;
/** Transcodely's form: `outputs[]`, each a file or a package (a ladder is one output with several variants). */
export type OutputsJobRequest = Shared & Required<Pick<JobRequest, "outputs">>;
/** VTK's form: a tool pipeline (`storage:get`, `ffmpeg:cmd`, `storage:put`, …) run in order. */
export type TasksJobRequest = Shared & Required<Pick<JobRequest, "tasks">>;
/** Clipzy's form: measure a style (and render it onto the input when given a template). */
export type StyleJobRequest = Shared & Required<Pick<JobRequest, "style">>;
/** A job request in exactly one of its four forms. */
export type CreateJobRequest = KindJobRequest | OutputsJobRequest | TasksJobRequest | StyleJobRequest;

/** The list filters; `status` and `tag` take several values (any status; every tag). */
export type ListJobsQuery = Omit<Query<paths["/jobs"]["get"]>, "status" | "tag" | "cursor"> & {
  status?: JobStatus | JobStatus[];
  tag?: string | string[];
  /** Start after this cursor (a page's `next_cursor`). */
  cursor?: string;
};
export type ListUploadsQuery = Query<paths["/uploads"]["get"]>;
export type ListPresetsQuery = Query<paths["/presets"]["get"]>;
export type PageQuery = Query<paths["/origins"]["get"]>;
