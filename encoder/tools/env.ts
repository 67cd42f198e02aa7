import { PipelineError } from "../errors";
import type { JobEnv, StepContext, StepOf } from "./step";

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g;

/**
 * `${NAME}` in a parameter, replaced by the variable's value when the step runs (a
 * loudness analysis writes its values only then). A name the environment does not hold
 * fails the step: running with a literal `${NAME}` would fail later, less clearly.
 */
export function substitute(text: string, env: JobEnv): string {
  return text.replace(REFERENCE, (_, name: string) => {
    const value = env.get(name);
    if (value === undefined) throw new PipelineError("variable_undefined", `\${${name}} is not set: utils:env or ffmpeg:loudnorm_analyze sets variables for the tasks after it`);
    return value;
  });
}

/** utils:env — sets each variable, its value substituted from those set before. */
export async function setVariables(step: StepOf<"utils:env">, { env, log }: StepContext): Promise<void> {
  for (const [name, value] of Object.entries(step.variables)) {
    const resolved = substitute(value, env);
    env.set(name, resolved);
    log.add(`${name}=${resolved}`);
  }
}
