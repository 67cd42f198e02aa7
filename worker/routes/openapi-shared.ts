import { z } from "@hono/zod-openapi";
import { errorEnvelopeSchema } from "../api/schemas/job-response";

/** The error envelope as the OpenAPI responses of the given statuses. */
export const errorResponses = (...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 415 | 422)[]) =>
  Object.fromEntries(statuses.map((s) => [s, { description: "Error", content: { "application/json": { schema: errorEnvelopeSchema } } }]));

/** Routes authenticated with an API key (`Authorization: Bearer …`). */
export const bearerSecurity = [{ bearer: [] }];

/** The paging query of the newest-first lists (see worker/pagination.ts). */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
};

/** A 200 answering one page of a newest-first list of `item`s, named `name` in the document. */
export function pageResponse<T extends z.ZodType>(item: T, name: string, description: string) {
  const schema = z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean(), next_cursor: z.string().nullable() }).openapi(name);
  return { description, content: { "application/json": { schema } } };
}
