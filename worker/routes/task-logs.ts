import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { taskLogSchema } from "../api/schemas/job-response";
import type { AppEnv } from "../env";
import { validationFailure } from "../errors";
import { jobService } from "./job-service";
import { bearerSecurity, errorResponses } from "./openapi-shared";

const taskLogRoute = createRoute({
  method: "get",
  path: "/jobs/{id}/tasks/{task_id}/log",
  summary: "A task's log: the last lines its process wrote, with when each was read",
  security: bearerSecurity,
  request: {
    params: z.object({
      id: z.string().openapi({ param: { name: "id", in: "path" }, example: "job_a1b2c3d4e5f6g7h8j9k0" }),
      task_id: z.string().openapi({ param: { name: "task_id", in: "path" }, example: "task_3k9v2m1x0q8w7e6r5t4y" }),
    }),
  },
  responses: { 200: { description: "The task's log", content: { "application/json": { schema: taskLogSchema } } }, ...errorResponses(401, 403, 404) },
});

/** Task logs, read through the job service from the job's JobDO, which keeps them beside the job. */
export const taskLogRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
}).openapi(taskLogRoute, async (c) => {
  const { id, task_id: taskId } = c.req.valid("param");
  return c.json(await jobService(c).taskLog(id, taskId), 200);
});
