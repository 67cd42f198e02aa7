import type { ChildProcess } from "node:child_process";

export interface SuperviseOptions {
  name: string;
  spawn: () => ChildProcess;
  beforeRestart?: () => void | Promise<void>;
  log: (line: string) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
  resetAfterMs?: number;
}

export interface Supervisor {
  readonly child: ChildProcess;
  readonly restarts: number;
  stop(): void;
}

export function supervise(options: SuperviseOptions): Supervisor;
