import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../env";
import { ApiError } from "../../errors";
import { BUNDLE_NAME, bundleFigures, bundleNotFound, createBundle, findBundle, listBundles } from "../../bundles/store";
import { JobService } from "../../jobs/service";
import { authenticate } from "../../middleware/authenticate";
import { bodyLimit } from "../../middleware/body-limit";
import { cors } from "../../middleware/cors";
import { vtkError, vtkErrors } from "./errors";
import { type VtkAction, authorizeVtk, grantedCaller } from "./iam";
import { type IndexRow, vtkJob, vtkJobStatus, vtkJobSummary, vtkJobUrl, vtkMetrics, vtkTask } from "./job";
import { invalidAction, jobFilters, page, pagingQuery, parseJobListQuery, parseQuery } from "./list";
import { vtkCredential } from "./org";
import { nativeRequest } from "./request";

/**
 * castlabs VTK's jobs, tasks and job bundles API at `/o/{organization_urn}/…` (README:
 * castlabs VTK): a thin translation over the job service. Every route first checks its
 * VTK action on its ARN; errors answer in VTK's shape (errors.ts).
 */
export const vtk = new Hono<AppEnv>();
vtk.onError(vtkErrors);

const MAX_BODY_BYTES = 1024 * 1024;

vtk.use(
  cors({
    allowHeaders: ["Authorization", "Content-Type", "x-castlabs-organization"],
    exposeHeaders: ["X-Request-ID"],
  }),
  bodyLimit(MAX_BODY_BYTES),
  authenticate({ credential: vtkCredential }),
);

/** The job service for the request's organization, once `action` on `path` is granted. */
function granted(c: Context<AppEnv>, action: VtkAction, path: string): JobService {
  const principal = c.get("principal");
  authorizeVtk(principal, action, path);
  return new JobService(c.env, grantedCaller(principal.orgId, principal.keyId));
}

const origin = (c: Context<AppEnv>) => new URL(c.req.url).origin;
const jobUrl = (c: Context<AppEnv>, id: string) => vtkJobUrl(origin(c), c.get("principal").orgId, id);

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw new ApiError(400, "invalid_json", "body: not valid JSON");
  }
}

function bundleName(c: Context<AppEnv>): string {
  const name = c.req.param("name")!;
  if (!BUNDLE_NAME.test(name)) throw bundleNotFound(name);
  return name;
}

async function submit(c: Context<AppEnv>, jobs: JobService, bundle?: string) {
  const { job } = await jobs.create(nativeRequest(await readJson(c), bundle), { dialect: "vtk" });
  return c.json(vtkJob(job, jobUrl(c, job.id)), 201);
}

async function list(c: Context<AppEnv>, jobs: JobService, bundle?: string) {
  const query = parseJobListQuery(c.req.query());
  const found = await jobs.list(jobFilters(query, bundle));
  const results = found.data.map((row) => vtkJobSummary(row as IndexRow, jobUrl(c, row.id)));
  return c.json(page(c.req.url, query, found.total_count, results));
}

// Jobs (docs: Jobs API).
vtk.post("/:org/jobs", (c) => submit(c, granted(c, "vtk:CreateJob", "jobs")));
vtk.get("/:org/jobs", (c) => list(c, granted(c, "vtk:ListJobs", "jobs")));

vtk.get("/:org/jobs/:id", async (c) => {
  const id = c.req.param("id");
  const job = await granted(c, "vtk:GetJob", `jobs/${id}`).get(id);
  return c.json(vtkJob(job, jobUrl(c, id)));
});

const actions = { abort: "vtk:AbortJob", restart: "vtk:RestartJob", resubmit: "vtk:ResubmitJob" } as const;

vtk.post("/:org/jobs/:id", async (c) => {
  const id = c.req.param("id");
  const action = c.req.query("action");
  if (action === undefined || !Object.hasOwn(actions, action)) throw invalidAction(action);
  const jobs = granted(c, actions[action as keyof typeof actions], `jobs/${id}`);
  if (action === "resubmit") {
    const job = await jobs.resubmit(id);
    return c.json(vtkJob(job, jobUrl(c, job.id)), 201);
  }
  const job = action === "abort" ? await jobs.cancel(id) : await jobs.restart(id);
  return c.json(vtkJob(job, jobUrl(c, id)));
});

vtk.get("/:org/jobs/:id/metrics", async (c) => {
  const id = c.req.param("id");
  return c.json(vtkMetrics(await granted(c, "vtk:GetJobMetrics", `jobs/${id}/metrics`).get(id)));
});

// Tasks (docs: Tasks).
const taskListQuery = pagingQuery.extend({
  status: z
    .string()
    .regex(/^[0-6](?:,[0-6])*$/, "comma-separated status codes 0–6")
    .transform((s) => s.split(",").map(Number))
    .optional(),
  tool: z.string().min(1).max(64).optional(),
});

vtk.get("/:org/jobs/:id/tasks", async (c) => {
  const id = c.req.param("id");
  const jobs = granted(c, "vtk:ListTasks", `jobs/${id}/tasks`);
  const query = parseQuery(taskListQuery, c.req.query());
  const job = await jobs.get(id);
  const status = vtkJobStatus(job);
  const matching = job.tasks
    .map((task) => vtkTask(task, status))
    .filter((task) => (query.status === undefined || query.status.includes(task.status)) && (query.tool === undefined || task.tool === query.tool));
  return c.json(page(c.req.url, query, matching.length, matching.slice(query.offset, query.offset + query.limit)));
});

vtk.get("/:org/jobs/:id/tasks/:task", async (c) => {
  const { id, task: taskId } = c.req.param();
  const job = await granted(c, "vtk:GetTask", `jobs/${id}/tasks/${taskId}`).get(id);
  const task = job.tasks.find((t) => t.id === taskId);
  if (!task) throw new ApiError(404, "not_found", `No task ${taskId} in job ${id}`);
  return c.json(vtkTask(task, vtkJobStatus(job)));
});

vtk.get("/:org/jobs/:id/tasks/:task/log", async (c) => {
  const { id, task: taskId } = c.req.param();
  const log = await granted(c, "vtk:GetTaskLog", `jobs/${id}/tasks/${taskId}/log`).taskLog(id, taskId);
  const results = log.lines.map((line) => ({ timestamp: Date.parse(line.at), message: line.text }));
  return c.json({ count: results.length, results });
});

// Job bundles (docs: Job Bundles).
const bundleListQuery = pagingQuery.extend({
  sort: z.enum(["-created", "created", "name", "-name"]).default("-created"),
  search: z.string().min(1).max(128).optional(),
  name: z.string().min(1).max(128).optional(),
});

const bundleView = (bundle: { name: string; created_at: string }) => ({ name: bundle.name, created: bundle.created_at });

vtk.get("/:org/jb", async (c) => {
  const { orgId } = c.get("principal");
  authorizeVtk(c.get("principal"), "vtk:ListBundles", "jb");
  const query = parseQuery(bundleListQuery, c.req.query());
  const found = await listBundles(c.env.DB, orgId, { ...query, search: query.search ?? null, name: query.name ?? null });
  return c.json(page(c.req.url, query, found.count, found.rows.map(bundleView)));
});

vtk.post("/:org/jb", async (c) => {
  authorizeVtk(c.get("principal"), "vtk:CreateBundle", "jb");
  const body = await readJson(c);
  const parsed = z.strictObject({ name: z.string().regex(BUNDLE_NAME, "1–128 letters, digits, _ . -") }).safeParse(body);
  if (!parsed.success) throw new ApiError(400, "validation_error", `name: ${parsed.error.issues[0]?.message ?? "required"}`, { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) });
  const bundle = await createBundle(c.env.DB, c.get("principal").orgId, parsed.data.name);
  return c.json(bundleView(bundle), 201);
});

vtk.get("/:org/jb/:name", async (c) => {
  const name = c.req.param("name");
  authorizeVtk(c.get("principal"), "vtk:GetBundle", `jb/${name}`);
  const { orgId } = c.get("principal");
  const bundle = await findBundle(c.env.DB, orgId, bundleName(c));
  if (!bundle) throw bundleNotFound(name);
  const figures = await bundleFigures(c.env.DB, orgId, name);
  return c.json({
    ...bundleView(bundle),
    jobs: figures.jobs,
    jobs_completed: figures.completed,
    jobs_running: figures.running,
    jobs_failed: figures.failed,
    jobs_aborted: figures.aborted,
    bytes_in: figures.bytes_in,
    bytes_out: figures.bytes_out,
    execution_time_ms: figures.execution_ms,
    cus: figures.compute_units,
  });
});

/** The bundle the path names, which must exist in the organization. */
async function existingBundle(c: Context<AppEnv>): Promise<string> {
  const name = bundleName(c);
  if (!(await findBundle(c.env.DB, c.get("principal").orgId, name))) throw bundleNotFound(name);
  return name;
}

vtk.get("/:org/jb/:name/jobs", async (c) => {
  const jobs = granted(c, "vtk:ListBundleJobs", `jb/${c.req.param("name")}/jobs`);
  return list(c, jobs, await existingBundle(c));
});

vtk.post("/:org/jb/:name/jobs", async (c) => {
  const jobs = granted(c, "vtk:CreateBundleJob", `jb/${c.req.param("name")}/jobs`);
  return submit(c, jobs, await existingBundle(c));
});

/** VTK's paths; any other method on them is a 405. */
const SERVED = /^\/o\/[^/]+\/(?:jobs(?:\/[^/]+(?:\/metrics|\/tasks(?:\/[^/]+(?:\/log)?)?)?)?|jb(?:\/[^/]+(?:\/jobs)?)?)$/;

// Every other path under /o answers here, in VTK's shape (the root's not-found answer is the native one).
vtk.all("*", (c) => {
  const error = SERVED.test(c.req.path)
    ? new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}`)
    : new ApiError(404, "not_found", `No route ${c.req.method} ${c.req.path}`);
  return c.json(vtkError(error, c.get("requestId")), error.status);
});
