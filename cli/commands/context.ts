import type { Kiln } from "../../sdk/src/index";
import type { Config } from "../config";
import type { Output } from "../output";

/** What every command runs with: the SDK client, the settings, where to write, and Ctrl-C. */
export interface Context {
  kiln: Kiln;
  config: Config;
  out: Output;
  signal: AbortSignal;
}
