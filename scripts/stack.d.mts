import type { ChildProcess } from "node:child_process";

export interface StackOptions {
  port?: number;
  encoderPort?: number;
  /** An encoder process per port, behind one ENCODER_URL list (default: one, on encoderPort). */
  encoderPorts?: number[];
  devKey?: string;
  stateDir?: string;
  workDir?: string;
  vars?: Record<string, string>;
  encoderEnv?: Record<string, string>;
  log?: "inherit" | "ignore" | number;
  supervise?: boolean;
  cronTickMs?: number;
  organizations?: SeededOrganization[];
}

/** An organization and its one key (every action allowed), in the local database. */
export interface SeededOrganization {
  orgId: string;
  name: string;
  keyId: string;
  keyName: string;
  key: string;
}

export interface Stack {
  url: string;
  encoderUrl: string;
  encoderUrls: string[];
  devKey: string;
  devOrg: string;
  readonly worker: ChildProcess;
  readonly encoder: ChildProcess;
  readonly encoders: ChildProcess[];
  startEncoder(): Promise<void>;
  readonly encoderRunning: boolean;
  readonly encoderRestarts: number;
  killEncoder(): Promise<void>;
  restartWorker(): Promise<void>;
  stop(): Promise<void>;
}

export const DEV_ORG: string;
export function startStack(options?: StackOptions): Promise<Stack>;
export function processesUnder(dir: string): number[];
export function waitForHealth(url: string, timeoutMs?: number): Promise<void>;
