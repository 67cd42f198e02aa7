import type { Caller } from "../../auth/caller";
import { type Action, isAllowed } from "../../auth/policy";
import type { Principal } from "../../env";
import { ApiError } from "../../errors";
import { organizationUrn } from "./org";

export type VtkAction = Extract<Action, `vtk:${string}`>;

/** VTK's resource ARN for a path of the organization: `arn:vtk:api::{organization_urn}:{path}` (the seed's form). */
export function vtkArn(orgId: string, path: string): string {
  return `arn:vtk:api::${organizationUrn(orgId)}:${path}`;
}

/**
 * Checks VTK's action on VTK's ARN against the key's allow statements (Kiln's one
 * policy engine, auth/policy.ts), or throws 403 naming both. A native full-access key
 * (`*` on `*`) matches every VTK action; native statements (`jobs:*` on `jobs/*`) name
 * other actions and resources, so they grant nothing here.
 */
export function authorizeVtk(principal: Principal, action: VtkAction, path: string): void {
  const resource = vtkArn(principal.orgId, path);
  if (!isAllowed(principal.statements, action, resource)) {
    throw new ApiError(403, "forbidden", `Not allowed to ${action} on ${resource}`, { action, resource });
  }
}

/**
 * The job service's caller for a VTK request, made once the request's VTK action has
 * been granted: that one check stands for the request, so the native checks the service
 * makes beneath it (jobs:create, the named secrets and origins a submission uses, …)
 * pass. VTK has no actions of its own for secrets: a job may use the organization's.
 */
export function grantedCaller(orgId: string, keyId: string): Caller {
  return { orgId, keyId, authorize: () => undefined };
}
