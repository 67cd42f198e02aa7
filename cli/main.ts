import { Kiln, KilnError } from "../sdk/src/index";
import { type Command, parseCommand } from "./args";
import { convert } from "./commands/convert";
import type { Context } from "./commands/context";
import { createJob, getJob, listJobs } from "./commands/jobs";
import { listKeys, listOrigins } from "./commands/resources";
import { upload } from "./commands/upload";
import { watch } from "./commands/watch";
import { configFromEnv } from "./config";
import { HELP } from "./help";
import { Interrupted } from "./interrupted";
import { Output } from "./output";
import { UsageError } from "./usage-error";

const EXIT = { done: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Runs one command line and answers its exit code. */
export async function main(argv: string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`kiln: ${error.message}\nRun kiln --help for usage.\n`);
    return EXIT.usage;
  }
  if (command.name === "help") {
    process.stdout.write(HELP);
    return EXIT.done;
  }

  const out = new Output(command.json);
  const config = configFromEnv();
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new Interrupted());
  process.on("SIGINT", onSigint);
  const context: Context = { kiln: new Kiln({ baseUrl: config.url, apiKey: config.apiKey }), config, out, signal: interrupt.signal };
  try {
    return await run(command, context);
  } catch (error) {
    if (error instanceof Interrupted) return EXIT.interrupted;
    if (error instanceof UsageError) {
      process.stderr.write(`kiln: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof KilnError) {
      out.error(error.code, `${error.message}${error.requestId ? ` (request ${error.requestId})` : ""}`, { status: error.status, details: error.details });
      return EXIT.failed;
    }
    out.error("cli_error", (error as Error).message ?? String(error));
    return EXIT.failed;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

function run(command: Exclude<Command, { name: "help" }>, context: Context): Promise<number> {
  switch (command.name) {
    case "convert":
      return convert(command, context);
    case "jobs-list":
      return listJobs(command, context);
    case "jobs-get":
      return getJob(command, context);
    case "jobs-create":
      return createJob(command, context);
    case "watch":
      return watch(command, context);
    case "upload":
      return upload(command, context);
    case "keys":
      return listKeys(command, context);
    case "origins":
      return listOrigins(command, context);
  }
}
