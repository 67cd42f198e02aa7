import { z } from "@hono/zod-openapi";

/**
 * IAM-style allow statements carried by an API key. Patterns are exact names or a
 * prefix followed by `*` ("jobs:*", "jobs/*", "*"); VTK's actions and ARNs, as in IAM,
 * may hold `*` anywhere ("vtk:Get*", "arn:vtk:api::*:jobs/*"). Each `*` matches any run
 * of characters; anything not allowed is denied.
 */
const VTK_PATTERN = /^(?:vtk:|arn:vtk:)/;
const pattern = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[a-z0-9_:/.*-]*$/i, "a name, or a prefix ending in a single trailing *")
  .refine(
    (p) => /^[^*]*\*?$/.test(p) || (VTK_PATTERN.test(p) && !p.includes("**")),
    "a name, or a prefix ending in a single trailing * (VTK's vtk: actions and arn:vtk: resources may hold * anywhere)",
  );

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
  // castlabs VTK's actions, on its ARNs (worker/dialects/vtk/iam.ts).
  "vtk:CreateJob",
  "vtk:ListJobs",
  "vtk:GetJob",
  "vtk:GetJobMetrics",
  "vtk:AbortJob",
  "vtk:RestartJob",
  "vtk:ResubmitJob",
  "vtk:ListTasks",
  "vtk:GetTask",
  "vtk:GetTaskLog",
  "vtk:ListBundles",
  "vtk:CreateBundle",
  "vtk:GetBundle",
  "vtk:ListBundleJobs",
  "vtk:CreateBundleJob",
] as const;
export type Action = (typeof actions)[number];

/** Glob matching: each `*` stands for any run of characters, everything else for itself. */
function matches(patternText: string, value: string): boolean {
  const parts = patternText.split("*");
  if (parts.length === 1) return patternText === value;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/**
 * True when every value `inner` can match is matched by `outer`. Exact for a name or a
 * prefix with one trailing `*`; for a wildcard elsewhere it answers only what it can be
 * sure of (the same pattern, or a name it matches), so it may refuse but never over-grants.
 */
function covers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  const star = outer.indexOf("*");
  if (star < 0) return false;
  if (star === outer.length - 1) return inner.startsWith(outer.slice(0, -1));
  return !inner.includes("*") && matches(outer, inner);
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
