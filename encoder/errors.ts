import { type FailureCode, failureCodes } from "./contract";

/** A failure the pipeline reports to the Worker: a contract code and a user-safe message. */
export class PipelineError extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
  ) {
    super(message);
  }
}

/** The longest failure message the contract carries; a longer one (a tool's stderr) keeps its end. */
const MAX_MESSAGE = 8192;

/** Any error a stage threw, as the code and message the job will carry. */
export function toFailure(err: unknown, fallback: FailureCode): { code: FailureCode; message: string } {
  const code = (err as { code?: unknown })?.code;
  const known = typeof code === "string" && (failureCodes as readonly string[]).includes(code);
  const message = err instanceof Error ? err.message : String(err);
  return { code: known ? (code as FailureCode) : fallback, message: message.length > MAX_MESSAGE ? `…${message.slice(-(MAX_MESSAGE - 1))}` : message };
}
