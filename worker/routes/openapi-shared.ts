import { errorEnvelopeSchema } from "../jobs/job-schemas";

/** The error envelope as the OpenAPI responses of the given statuses. */
export const errorResponses = (...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 415 | 422)[]) =>
  Object.fromEntries(statuses.map((s) => [s, { description: "Error", content: { "application/json": { schema: errorEnvelopeSchema } } }]));

/** Routes authenticated with an API key (`Authorization: Bearer …`). */
export const bearerSecurity = [{ bearer: [] }];
