import { type CreateJobRequest, createJobRequestSchema } from "../../api/schemas/create-job";
import { z } from "zod";
import { ApiError, validationFailure } from "../../errors";

/** The fields of VTK's submission (docs: Jobs → Additional submission fields). */
const fields = ["tasks", "region", "tags", "notify", "priority", "role_arn"] as const;
/** VTK's default priority is its lowest, 10 (Kiln's economy tier). */
const DEFAULT_PRIORITY = 10;

/** A problem of one field, shaped as the schema's failures are (every issue in `issues`). */
const invalid = (path: string, message: string) => new ApiError(400, "validation_error", `${path}: ${message}`, { target: "json", issues: [{ path, message }] });

function roleArnUnsupported(where: string): ApiError {
  return new ApiError(
    422,
    "role_arn_unsupported",
    `${where}: Kiln cannot assume AWS roles. Store the bucket's credentials as a named secret (POST /v1/secrets) and name it in the location: s3://{secret-name}@bucket/path/`,
  );
}

/** `notify` as a webhook URL: an http(s) URL is POSTed to when the job ends; mail needs a transport Kiln does not have. */
function webhookUrl(notify: unknown): string | undefined {
  if (notify === undefined || notify === null) return undefined;
  if (typeof notify !== "string") throw invalid("notify", "a URL string");
  if (/^mailto:/i.test(notify)) {
    throw new ApiError(422, "notify_unsupported", "notify: mailto: needs a mail transport, which Kiln does not have; give an https:// URL to be POSTed to when the job ends");
  }
  if (/^digest:/i.test(notify)) {
    throw new ApiError(422, "notify_unsupported", "notify: digest: (a callback behind HTTP Digest authentication) is not supported; give an https:// URL, whose POSTs are signed per Standard Webhooks");
  }
  if (!/^https?:\/\/[^\s/$.?#]\S*$/i.test(notify)) throw invalid("notify", "an https:// URL to be POSTed to when the job ends");
  return notify;
}

/**
 * VTK's job submission as the native request (a tool pipeline), or its first problem:
 * `role_arn` (here or in a task's parameters) and mail notifications are 422s of their
 * own, the rest is the native schema's (`unknown_tool`, `tool_refused`, `validation_error`
 * with every issue). `bundle` is the job bundle a bundle's submit route files it under.
 */
export function nativeRequest(body: unknown, bundle?: string): CreateJobRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw invalid("body", "a JSON object is required");
  const given = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
  for (const key of Object.keys(given)) {
    if (key === "job_bundle" || key === "job_bundle_id") throw invalid(key, "no longer used; submit to POST /o/{organization_urn}/jb/{name}/jobs to file a job under a bundle");
    if (!(fields as readonly string[]).includes(key)) throw invalid(key, `not a field of a job; send ${fields.join(", ")}`);
  }
  if (given.role_arn !== undefined) throw roleArnUnsupported("role_arn");
  if (Array.isArray(given.tasks)) {
    given.tasks.forEach((task: unknown, i) => {
      const parameters = task !== null && typeof task === "object" ? (task as { parameters?: unknown }).parameters : undefined;
      if (parameters !== null && typeof parameters === "object" && "role_arn" in parameters) throw roleArnUnsupported(`tasks.${i}.parameters.role_arn`);
    });
  }
  const notify = webhookUrl(given.notify);
  const request = {
    tasks: given.tasks,
    ...(given.region === undefined ? {} : { region: given.region }),
    ...(given.tags === undefined ? {} : { tags: given.tags }),
    priority: given.priority ?? DEFAULT_PRIORITY,
    ...(notify === undefined ? {} : { webhook_url: notify }),
    ...(bundle === undefined ? {} : { bundle }),
  };
  if (request.tasks === undefined) throw invalid("tasks", "required, one or more tasks");
  const parsed = createJobRequestSchema.safeParse(request);
  if (!parsed.success) throw validationFailure(vtkIssuesFirst(parsed.error), "json");
  return parsed.data;
}

/**
 * VTK's body has no `input`: the native "input is required" (a pipeline that fetches
 * nothing) comes after every problem of the tasks themselves, and speaks of storage:get.
 */
function vtkIssuesFirst(error: z.ZodError): z.ZodError {
  const isInput = (issue: z.core.$ZodIssue) => issue.path[0] === "input";
  const input = error.issues.filter(isInput).map((issue) => ({ ...issue, path: ["tasks"], message: "the tasks must fetch their files: start with a storage:get" }));
  return new z.ZodError([...error.issues.filter((issue) => !isInput(issue)), ...input]);
}
