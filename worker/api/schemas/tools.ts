import { z } from "@hono/zod-openapi";
import { ffmpegCmdParameters, loudnormParameters } from "./tools/ffmpeg";
import { storageCheckParameters, storageGetParameters, storagePutParameters } from "./tools/storage";
import { shakaPackageDashParameters } from "./tools/shaka";
import { utilsEnvParameters, utilsRenameParameters, utilsTarParameters } from "./tools/utils";

// VTK's tool pipeline, the most general job form: an ordered list of tools sharing the
// job's working directory. Each tool has its own parameter schema, a default version and
// the versions it knows; a task names a version or gets the default, which the task records.

interface ToolDefinition {
  parameters: z.ZodType;
  /** The versions a task may name, oldest first. */
  versions: readonly string[];
  /** The version of a task that names none. */
  default: string;
}

export const toolCatalog = {
  "storage:get": { parameters: storageGetParameters, versions: ["1.0"], default: "1.0" },
  "storage:put": { parameters: storagePutParameters, versions: ["1.0"], default: "1.0" },
  "storage:check": { parameters: storageCheckParameters, versions: ["1.0"], default: "1.0" },
  "ffmpeg:cmd": { parameters: ffmpegCmdParameters, versions: ["1.0"], default: "1.0" },
  "ffmpeg:loudnorm_analyze": { parameters: loudnormParameters, versions: ["1.0"], default: "1.0" },
  "utils:env": { parameters: utilsEnvParameters, versions: ["1.0"], default: "1.0" },
  "utils:rename": { parameters: utilsRenameParameters, versions: ["1.0"], default: "1.0" },
  "utils:tar": { parameters: utilsTarParameters, versions: ["1.0"], default: "1.0" },
  "shaka:package_dash": { parameters: shakaPackageDashParameters, versions: ["1.0"], default: "1.0" },
} as const satisfies Record<string, ToolDefinition>;
export type ToolName = keyof typeof toolCatalog;
export const toolNames = Object.keys(toolCatalog) as ToolName[];
export type ToolParameters<T extends ToolName> = z.output<(typeof toolCatalog)[T]["parameters"]>;

/** `|p` after a tool's name marks the task parallel-eligible (VTK: Tasks → Parallel task execution). */
const PARALLEL_SUFFIX = "|p";

export const toolTaskSchema = z.strictObject({
  tool: z.string().regex(/^[a-z0-9_-]+:[a-z0-9_-]+(\|p)?$/, "namespace:name, e.g. ffmpeg:cmd, with |p to run beside its neighbours"),
  parameters: z.record(z.string(), z.unknown()).default({}),
  version: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).optional(),
});
export type ToolTask = z.infer<typeof toolTaskSchema>;

/** A task's tool without its `|p`, and whether it had one. */
export function toolOf(written: string): { name: string; parallel: boolean } {
  const parallel = written.endsWith(PARALLEL_SUFFIX);
  return { name: parallel ? written.slice(0, -PARALLEL_SUFFIX.length) : written, parallel };
}

const isToolName = (name: string): name is ToolName => Object.hasOwn(toolCatalog, name);

export interface ResolvedToolTask {
  tool: ToolName;
  parallel: boolean;
  version: string;
  /** The parameters with the tool's defaults filled in. */
  parameters: Record<string, unknown>;
}

type Issue = { path: (string | number)[]; message: string; params?: Record<string, unknown> };

/**
 * A task checked against its tool: the tool must exist (`unknown_tool`), the version be
 * one it knows (`unknown_tool_version`, naming them), and the parameters pass its schema.
 * Answers the resolved task or every issue, paths relative to the task.
 */
export function resolveToolTask(task: ToolTask): { ok: true; task: ResolvedToolTask } | { ok: false; issues: Issue[] } {
  const { name, parallel } = toolOf(task.tool);
  if (!isToolName(name)) {
    return { ok: false, issues: [{ path: ["tool"], params: { code: "unknown_tool" }, message: `unknown tool ${name}; available: ${toolNames.join(", ")}` }] };
  }
  const tool: ToolDefinition = toolCatalog[name];
  const issues: Issue[] = [];
  if (task.version !== undefined && !tool.versions.includes(task.version)) {
    issues.push({ path: ["version"], params: { code: "unknown_tool_version" }, message: `${name} has no version ${task.version}; known versions: ${tool.versions.join(", ")} (default ${tool.default})` });
  }
  const parsed = tool.parameters.safeParse(task.parameters);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ path: ["parameters", ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))], message: issue.message, params: issue.code === "custom" ? issue.params : { issue: issue.code } });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, task: { tool: name, parallel, version: task.version ?? tool.default, parameters: parsed.data as Record<string, unknown> } };
}

/** A task known valid (validation passed it): resolved again where its parameters' defaults are needed. */
export function resolvedToolTask(task: ToolTask): ResolvedToolTask {
  const resolved = resolveToolTask(task);
  if (!resolved.ok) throw new Error(`an invalid tool task reached planning: ${resolved.issues[0]?.message}`);
  return resolved.task;
}
