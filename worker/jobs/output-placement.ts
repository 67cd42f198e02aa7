import type { BucketRef } from "../origins/buckets";
import { isFolderKey, toolLocationKey } from "../origins/uri";
import { keyProblem, outputKey } from "../storage/keys";
import type { JobSpec } from "./job-spec";
import { type Output, type ToolOutputSpec, toolOutputSpec } from "./model";
import { outputTemplateValues, renderPathTemplate } from "../api/schemas/path-template";

/**
 * Where each file the encoder exports is stored. The encoder names files after the
 * output: `<output_id>.<ext>` for a single file, `<output_id>/…` for a package (HLS).
 *
 * - No template: managed storage keeps them at `jobs/<job_id>/<file>`; a bucket folder
 *   (`output: s3://bucket/prefix/`, or an origin's path) at `<prefix><file>`.
 * - A path template (the output's `path_template`, else the job's
 *   `output_path_template`) renders to the file's name (`{job_id}/{resolution}.{format}`),
 *   or, ending in `/`, to a folder the file keeps its name in; a package's files go under
 *   the rendered folder. The result sits under `jobs/<job_id>/` in managed storage, or
 *   under the bucket folder.
 * - An exact bucket key (`output: s3://bucket/key.mp4`) holds the job's one file.
 * - A tool pipeline's file (its output's spec names the file and the put's location)
 *   goes into the location's folder under its own name.
 *
 * Bucket folders and keys may hold template variables too. Pure: the Worker's export
 * signing and the JobDO (recording where the main file went) must agree.
 */
export type Placement = { store: "managed"; key: string } | { store: "bucket"; bucket: BucketRef; key: string };

export interface PlacementJob {
  id: string;
  created_at: string;
  spec: Pick<JobSpec, "output_path_template" | "storage">;
  outputs: Pick<Output, "id" | "type" | "spec">[];
}

export type PlacementResult = { ok: true; placement: Placement } | { ok: false; problem: string };

export function placeOutputFile(job: PlacementJob, outputId: string, path: string): PlacementResult {
  const output = job.outputs.find((o) => o.id === outputId);
  if (!output) return { ok: false, problem: `${path}: the job has no output ${outputId}` };
  const tool = toolOutputSpec(output);
  if (tool) return placeToolFile(job, tool, path);
  const values = outputTemplateValues(job, output);
  const template = (output.spec.path_template as string | undefined) ?? job.spec.output_path_template;
  const packageFile = path.startsWith(`${outputId}/`) ? path.slice(outputId.length + 1) : null;
  let name = path;
  if (template !== null) {
    const rendered = renderPathTemplate(template, values);
    if (packageFile !== null) name = `${rendered.replace(/\/+$/, "")}/${packageFile}`;
    else name = rendered.endsWith("/") ? `${rendered}${path}` : rendered;
  }

  const target = job.spec.storage.output;
  let placement: Placement;
  if (target === null) {
    placement = { store: "managed", key: template === null ? outputKey(job.id, path) : `jobs/${job.id}/${name}` };
  } else if (isFolderKey(target.key)) {
    placement = { store: "bucket", bucket: target.bucket, key: `${renderPathTemplate(target.key, values)}${name}` };
  } else {
    if (packageFile !== null) return { ok: false, problem: `${path}: output names one object, but this output is a package of files` };
    placement = { store: "bucket", bucket: target.bucket, key: renderPathTemplate(target.key, values) };
  }
  return checked(path, placement);
}

function checked(path: string, placement: Placement): PlacementResult {
  const problem = keyProblem(placement.key);
  return problem ? { ok: false, problem: `${path}: ${problem}` } : { ok: true, placement };
}

/**
 * A file a tool pipeline's storage:put stores is named by its plain name and goes into
 * the put's folder as resolved at creation, `{job_id}` substituted.
 */
function placeToolFile(job: PlacementJob, tool: ToolOutputSpec, path: string): PlacementResult {
  if (path !== tool.file) return { ok: false, problem: `${path}: this output is the file ${tool.file}` };
  const folder = job.spec.storage.tool_locations?.put[tool.location];
  if (!folder) return { ok: false, problem: `${path}: ${tool.location} was not resolved to a bucket when the job was created` };
  return checked(path, { store: "bucket", bucket: folder.bucket, key: `${toolLocationKey(folder.key, job.id)}${tool.file}` });
}
