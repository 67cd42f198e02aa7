import type { AccessCheck } from "../../origins/check";
import type { originView } from "../../origins/store";
import { timestamp } from "./proto-fields";

/** An R2 account endpoint, `https://<account>[.eu|.fedramp].r2.cloudflarestorage.com`. */
const R2_ACCOUNT_ENDPOINT = /^https:\/\/([a-f0-9]{32})(?:\.(eu|fedramp))?\.r2\.cloudflarestorage\.com$/;

/** The endpoint of an R2 account in a jurisdiction, as Transcodely derives it from `account_id`. */
export function r2AccountEndpoint(accountId: string, jurisdiction: "default" | "eu" | "fedramp" | undefined): string {
  const region = jurisdiction === "eu" || jurisdiction === "fedramp" ? `.${jurisdiction}` : "";
  return `https://${accountId}${region}.r2.cloudflarestorage.com`;
}

/** R2OriginConfig's location fields: the account back from an account endpoint, else the endpoint as given. */
function r2Location(endpoint: string | null) {
  const match = endpoint ? R2_ACCOUNT_ENDPOINT.exec(endpoint) : null;
  if (match) return { account_id: match[1]!, jurisdiction: match[2] ?? "default", endpoint: null };
  return { account_id: "", jurisdiction: "unspecified", endpoint };
}

/**
 * A Kiln origin as Transcodely's Origin, every field present. Credentials are never
 * returned (null, as Transcodely leaves them out of responses). Kiln keeps no status,
 * description, origin-level path template or update time: an origin exists only once its
 * access was proved (`active`, last validated when created) and never changes after.
 * Kiln's `gcs` origins are Google's S3-compatible endpoint with an HMAC key.
 */
export function transcodelyOrigin(view: ReturnType<typeof originView>) {
  const created = timestamp(view.created_at);
  return {
    id: view.id,
    app_id: "",
    name: view.name,
    description: "",
    provider: view.provider,
    permissions: view.permissions,
    status: "active",
    base_path: view.path ?? "",
    path_template: "",
    gcs: view.provider === "gcs" ? { bucket: view.bucket, credentials: null } : null,
    s3: view.provider === "s3" ? { bucket: view.bucket, region: view.region, credentials: null, endpoint: view.endpoint } : null,
    http: null,
    last_validated_at: created,
    validation_error: null,
    created_at: created,
    updated_at: created,
    archived_at: null,
    is_managed: false,
    r2: view.provider === "r2" ? { bucket: view.bucket, credentials: null, ...r2Location(view.endpoint) } : null,
  };
}

/** ValidationResult: each declared permission proved or not; one that was not declared is not checked and reads false. */
export function validationResult(check: AccessCheck, at: Date) {
  const problems = Object.values(check);
  return {
    success: problems.length > 0 && problems.every((problem) => problem === null),
    can_read: check.read === null,
    can_write: check.write === null,
    read_error: check.read?.message ?? "",
    write_error: check.write?.message ?? "",
    validated_at: at.toISOString(),
  };
}
