import type { Env } from "../env";
import { type JobSpec, type RequestedOutput, requestedWork } from "../jobs/job-spec";
import { originKey } from "../origins/crypto";
import { fromHex, randomHex, toBase64Url, toHex } from "../bytes";

/**
 * Content keys of encrypted streaming outputs. A key is the request's (`drm.key`) or
 * 16 random bytes; its id (`key_id`, the CENC KID) likewise. The spec keeps only the
 * scheme and key id, so no view, event, webhook or resubmission carries the key; the
 * key itself lives in the job's state sealed with AES-256-GCM under the
 * `ORIGIN_CREDENTIALS_KEY` secret (the key origin credentials use), with
 * `kiln-drm-key:<org>:<job>:<output>` as additional data: the label keeps a sealed
 * content key from ever opening as an origin's or secret's credentials (and back), the
 * ids keep it from opening for another output.
 */
export type DrmScheme = "aes-128" | "cenc";

/** What the job's state holds per encrypted output. */
export interface SealedDrmKey {
  output_id: string;
  scheme: DrmScheme;
  key_id: string;
  /** `v1.<iv hex>.<ciphertext+tag hex>` */
  sealed: string;
}

export interface DrmKey {
  scheme: DrmScheme;
  key_id: string;
  /** 32 lowercase hex digits. */
  key: string;
}

/**
 * The spec with every output's key taken out (and key ids filled in), and the keys by
 * output index. A spec without drm outputs comes back as it was.
 */
export function takeDrmKeys(spec: JobSpec): { spec: JobSpec; keys: Map<number, DrmKey> } {
  const keys = new Map<number, DrmKey>();
  const requested = requestedWork(spec).outputs;
  if (!requested.some((o) => o.drm)) return { spec, keys };
  const outputs = requested.map((output, index): RequestedOutput => {
    if (!output.drm) return output;
    const given = output.drm as { scheme: DrmScheme; key_id?: string; key?: string };
    const key: DrmKey = { scheme: given.scheme, key_id: (given.key_id ?? randomHex(16)).toLowerCase(), key: (given.key ?? randomHex(16)).toLowerCase() };
    keys.set(index, key);
    return { ...output, drm: { scheme: key.scheme, key_id: key.key_id } as typeof output.drm };
  });
  // Only an outputs job has outputs to take keys from.
  return { spec: { ...spec, outputs } as JobSpec, keys };
}

interface Binding {
  orgId: string;
  jobId: string;
  outputId: string;
}
const aad = (b: Binding) => new TextEncoder().encode(`kiln-drm-key:${b.orgId}:${b.jobId}:${b.outputId}`);

export async function sealDrmKey(env: Pick<Env, "ORIGIN_CREDENTIALS_KEY">, binding: Binding, key: DrmKey): Promise<SealedDrmKey> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(binding) }, await originKey(env), fromHex(key.key));
  return { output_id: binding.outputId, scheme: key.scheme, key_id: key.key_id, sealed: `v1.${toHex(iv)}.${toHex(sealed)}` };
}

export async function openDrmKey(env: Pick<Env, "ORIGIN_CREDENTIALS_KEY">, binding: Omit<Binding, "outputId">, stored: SealedDrmKey): Promise<DrmKey> {
  const [version, iv, sealed] = stored.sealed.split(".");
  if (version !== "v1" || !iv || !sealed) throw new Error("a sealed content key is not in a known format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromHex(iv), additionalData: aad({ ...binding, outputId: stored.output_id }) },
    await originKey(env),
    fromHex(sealed),
  );
  return { scheme: stored.scheme, key_id: stored.key_id, key: toHex(plain) };
}


/** The W3C ClearKey license (EME, "Clear Key" JSON Web Key Set) for one key. */
export function clearKeyLicense(key: DrmKey) {
  return { keys: [{ kty: "oct", kid: toBase64Url(fromHex(key.key_id)), k: toBase64Url(fromHex(key.key)) }], type: "temporary" };
}

export const rawKey = (key: DrmKey) => fromHex(key.key);
