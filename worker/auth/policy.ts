import { z } from "@hono/zod-openapi";

/**
 * IAM-style allow statements carried by an API key. Patterns are exact names or a
 * prefix followed by `*` ("jobs:*", "jobs/*", "*"); anything not allowed is denied.
 */
const pattern = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9_:/.-]*\*?$/i, "a name, or a prefix ending in a single trailing *");

export const policyStatementSchema = z.strictObject({
  effect: z.literal("allow").default("allow"),
  actions: z.array(pattern).min(1).max(50),
  resources: z.array(pattern).min(1).max(50),
});
export type PolicyStatement = z.infer<typeof policyStatementSchema>;

export const fullAccess: PolicyStatement[] = [{ effect: "allow", actions: ["*"], resources: ["*"] }];

export const actions = [
  "jobs:create",
  "jobs:list",
  "jobs:get",
  "jobs:cancel",
  "jobs:confirm",
  "jobs:restart",
  "jobs:resubmit",
  "keys:create",
  "keys:list",
  "keys:revoke",
  "webhooks:read_secret",
  "webhooks:rotate_secret",
  "uploads:create",
  "uploads:get",
  "uploads:list",
  "uploads:delete",
  "origins:create",
  "origins:get",
  "origins:list",
  "origins:delete",
  "secrets:create",
  "secrets:get",
  "secrets:list",
  "secrets:delete",
  "presets:create",
  "presets:get",
  "presets:list",
  "presets:delete",
] as const;
export type Action = (typeof actions)[number];

function matches(patternText: string, value: string): boolean {
  return patternText.endsWith("*") ? value.startsWith(patternText.slice(0, -1)) : patternText === value;
}

/** True when every value `inner` can match is matched by `outer`. */
function covers(outer: string, inner: string): boolean {
  if (!outer.endsWith("*")) return outer === inner;
  return inner.startsWith(outer.slice(0, -1));
}

export function isAllowed(statements: PolicyStatement[], action: Action, resource: string): boolean {
  return statements.some(
    (s) => s.actions.some((a) => matches(a, action)) && s.resources.some((r) => matches(r, resource)),
  );
}

/** A key may only hand out what it holds itself, so key creation cannot escalate. */
export function grantsWithin(holder: PolicyStatement[], requested: PolicyStatement[]): boolean {
  return requested.every((req) =>
    req.actions.every((action) =>
      req.resources.every((resource) =>
        holder.some((h) => h.actions.some((a) => covers(a, action)) && h.resources.some((r) => covers(r, resource))),
      ),
    ),
  );
}
