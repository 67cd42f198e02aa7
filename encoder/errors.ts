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

/** Any error a stage threw, as the code and message the job will carry. */
export function toFailure(err: unknown, fallback: FailureCode): { code: FailureCode; message: string } {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && (failureCodes as readonly string[]).includes(code)) {
    return { code: code as FailureCode, message: (err as Error).message };
  }
  return { code: fallback, message: err instanceof Error ? err.message : String(err) };
}
