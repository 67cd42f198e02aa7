import type { PolicyStatement } from "./policy";

/** A resolved API key: what authentication finds in D1 and the cache keeps. */
export interface KeyRecord {
  keyId: string;
  statements: PolicyStatement[];
  orgIds: string[];
}
