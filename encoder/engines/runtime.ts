import type { JobRuntime } from "../pipeline/run-job";
import type { Sandbox } from "../sandbox/sandbox";

/** What every engine runs an order with: the transcode pipeline's runtime and the sandbox tool runs need. */
export interface EngineRuntime extends JobRuntime {
  sandbox: Sandbox;
  /**
   * TEST-ONLY when false: tool arguments run without the allowlist and without the
   * protocol whitelist the runner adds, so tests can show that the sandbox alone
   * contains them. Never set from configuration or user input.
   */
  checkToolArguments: boolean;
}
