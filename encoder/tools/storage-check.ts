import { AddressPolicy } from "../net/address-policy";
import { GuardedFetchError, guardedRequest, networkAccess } from "../net/guarded-fetch";
import { PipelineError } from "../errors";
import { shownUrl } from "./storage-get";
import type { StepContext, StepEnd, StepOf } from "./step";

/**
 * Whether the object a URL names is there: its GET (presigned in a bucket) answered
 * 2xx, or 404. Anything else cannot tell, and fails the check: S3 answers 403 for a
 * missing key when the credentials may not list the bucket, but just as much for
 * credentials that may not read it. Nothing is read past the headers.
 */
async function present(url: string, { order, runtime }: StepContext): Promise<boolean> {
  const access = networkAccess(runtime);
  let res;
  try {
    res = await guardedRequest(new URL(url), {
      policy: new AddressPolicy(access),
      resolve: access.resolve,
      connectTimeoutMs: order.limits.connect_timeout_ms,
      readTimeoutMs: order.limits.read_timeout_ms,
      signal: runtime.signal,
      headers: { range: "bytes=0-0" },
    });
  } catch (err) {
    if (runtime.signal.aborted) throw new PipelineError("canceled", "The job was canceled");
    throw new PipelineError("check_failed", `could not ask ${shownUrl(url)}: ${err instanceof GuardedFetchError ? err.message : String(err)}`);
  }
  res.destroy();
  const status = res.statusCode ?? 0;
  if (status >= 200 && status <= 299) return true;
  if (status === 404) return false;
  throw new PipelineError("check_failed", `${shownUrl(url)} answered HTTP ${status}: cannot tell whether it is there`);
}

/**
 * storage:check — FAIL_ON_PRESENCE fails when any file is there, FAIL_ON_ABSENCE when
 * any is missing; COMPLETE_ON_PRESENCE completes the job at once when all are there
 * (the tasks after it are skipped) and otherwise lets it go on.
 */
export async function checkFiles(step: StepOf<"storage:check">, context: StepContext): Promise<StepEnd> {
  const found: string[] = [];
  const missing: string[] = [];
  for (const [i, file] of step.files.entries()) {
    const there = await present(file.url, context);
    (there ? found : missing).push(file.name);
    context.log.add(`${file.name}: ${there ? "present" : "absent"}`);
    context.progress((i + 1) / step.files.length);
  }
  switch (step.mode) {
    case "FAIL_ON_PRESENCE":
      if (found.length > 0) throw new PipelineError("check_failed", `present, and the check fails on presence: ${found.join(", ")}`);
      return;
    case "FAIL_ON_ABSENCE":
      if (missing.length > 0) throw new PipelineError("check_failed", `absent, and the check fails on absence: ${missing.join(", ")}`);
      return;
    case "COMPLETE_ON_PRESENCE":
      if (missing.length > 0) return;
      context.log.add("every file is present: the job completes here and the tasks after this one are skipped");
      return { complete: true };
  }
}
