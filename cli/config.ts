import os from "node:os";
import path from "node:path";

/** The local stack `npm start` runs, and the dev key it seeds (scripts/stack.mjs). */
const LOCAL_URL = "http://127.0.0.1:8787";
const LOCAL_KEY = "sk_dev_local";

export interface Config {
  url: string;
  apiKey: string;
  /** The file FileResumeStore keeps unfinished tus uploads in, so a second run resumes them. */
  resumeFile: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const stateDir = env.KILN_CLI_STATE_DIR ?? path.join(env.XDG_STATE_HOME ?? path.join(os.homedir(), ".local", "state"), "kiln");
  return {
    url: env.KILN_URL || LOCAL_URL,
    apiKey: env.KILN_API_KEY || LOCAL_KEY,
    resumeFile: path.join(stateDir, "tus-uploads.json"),
  };
}
