import { readFile } from "node:fs/promises";
import type { CreateJobRequest } from "../../sdk/src/index";
import type { Command } from "../args";
import { UsageError } from "../usage-error";
import type { Context } from "./context";

const DEFAULT_LIMIT = 20;

/** `kiln jobs [list]`: the newest jobs, a line each (paged through as far as --limit). */
export async function listJobs(command: Extract<Command, { name: "jobs-list" }>, { kiln, out, signal }: Context): Promise<number> {
  const limit = command.limit ?? DEFAULT_LIMIT;
  let count = 0;
  for await (const job of kiln.jobs.list({ status: command.status as never, tag: command.tag }, { signal })) {
    out.result(job, [job.id, job.status.padEnd(21), `${String(job.progress).padStart(3)}%`, (job.kind ?? job.mode).padEnd(14), job.created_at].join("  "));
    if (++count >= limit) break;
  }
  return 0;
}

/** `kiln jobs <id>`: the job as the API answers it. */
export async function getJob(command: Extract<Command, { name: "jobs-get" }>, { kiln, out, signal }: Context): Promise<number> {
  const job = await kiln.jobs.get(command.id, { signal });
  out.result(job, JSON.stringify(job, null, 2));
  return 0;
}

/** `kiln jobs create --body <file|->`: any job form, as JSON from a file or stdin. */
export async function createJob(command: Extract<Command, { name: "jobs-create" }>, { kiln, out, signal }: Context): Promise<number> {
  const text = command.body === "-" ? await readStdin() : await readFile(command.body, "utf8").catch(() => Promise.reject(new UsageError(`cannot read ${command.body}`)));
  let request: CreateJobRequest;
  try {
    request = JSON.parse(text) as CreateJobRequest;
  } catch (error) {
    throw new UsageError(`--body is not JSON: ${(error as Error).message}`);
  }
  const job = await kiln.jobs.create(request, { signal });
  out.result(job, `job ${job.id} created (${job.status}); follow it with: kiln watch ${job.id}`);
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
