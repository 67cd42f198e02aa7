import { parseArgs } from "node:util";
import type { KindJobRequest } from "../sdk/src/index";
import { UsageError } from "./usage-error";

type Kind = KindJobRequest["kind"];

/** The CLI's words for Ittybit's kinds. */
const KIND_COMMANDS: Record<string, Kind> = { video: "video", audio: "audio", image: "image", animation: "animation", adaptive: "adaptive_video" };

/** A parsed command line: what to do, with values already checked for shape (the API checks the rest). */
export type Command = { json: boolean } & (
  | { name: "help" }
  | { name: "convert"; kind: Kind; input: string; output?: string; flags: KindFlags; chunkSize?: number }
  | { name: "jobs-list"; status?: string; tag?: string; limit?: number }
  | { name: "jobs-get"; id: string }
  | { name: "jobs-create"; body: string }
  | { name: "watch"; id: string; output?: string }
  | { name: "upload"; file: string; chunkSize?: number }
  | { name: "keys" }
  | { name: "origins" }
);

export interface KindFlags {
  width?: string;
  height?: string;
  format?: string;
  codec?: string;
  quality?: string;
  fit?: string;
  fps?: string;
  start?: string;
  end?: string;
  bitrate?: string;
}

const GLOBAL = { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;
const CHUNK = { "chunk-size": { type: "string" } } as const;
const KIND_FLAGS = {
  input: { type: "string", short: "i" },
  output: { type: "string", short: "o" },
  width: { type: "string" },
  height: { type: "string" },
  format: { type: "string" },
  codec: { type: "string" },
  quality: { type: "string" },
  fit: { type: "string" },
  fps: { type: "string" },
  start: { type: "string" },
  end: { type: "string" },
  bitrate: { type: "string" },
} as const;

export function parseCommand(argv: string[]): Command {
  const [word, ...rest] = argv;
  if (word === undefined || word === "help" || word === "--help" || word === "-h") return { name: "help", json: false };
  const kind = KIND_COMMANDS[word];
  if (kind) {
    const { values } = parse(rest, { ...GLOBAL, ...CHUNK, ...KIND_FLAGS }, 0);
    if (values.help) return { name: "help", json: false };
    if (!values.input) throw new UsageError(`kiln ${word} needs an input: -i <url|upload id|file>`);
    const { input, output, json, help: _help, "chunk-size": chunk, ...flags } = values;
    return { name: "convert", json: json ?? false, kind, input, output, flags, chunkSize: positiveInteger("--chunk-size", chunk) };
  }
  switch (word) {
    case "jobs": {
      const { values, positionals } = parse(rest, { ...GLOBAL, status: { type: "string" }, tag: { type: "string" }, limit: { type: "string" }, body: { type: "string" } }, 2);
      const json = values.json ?? false;
      const [sub, id] = positionals;
      if (values.help) return { name: "help", json: false };
      if (sub === undefined || sub === "list") {
        if (id !== undefined) throw new UsageError(`kiln jobs list takes no argument, got ${id}`);
        return { name: "jobs-list", json, status: values.status, tag: values.tag, limit: positiveInteger("--limit", values.limit) };
      }
      if (sub === "create") {
        if (!values.body) throw new UsageError("kiln jobs create needs --body <file|-> (a job request as JSON; - reads stdin)");
        return { name: "jobs-create", json, body: values.body };
      }
      if (id !== undefined) throw new UsageError(`kiln jobs ${sub} takes no further argument, got ${id}`);
      return { name: "jobs-get", json, id: sub };
    }
    case "watch": {
      const { values, positionals } = parse(rest, { ...GLOBAL, output: { type: "string", short: "o" } }, 1);
      if (values.help) return { name: "help", json: false };
      const id = required(positionals[0], "kiln watch needs a job id");
      return { name: "watch", json: values.json ?? false, id, output: values.output };
    }
    case "upload": {
      const { values, positionals } = parse(rest, { ...GLOBAL, ...CHUNK }, 1);
      if (values.help) return { name: "help", json: false };
      const file = required(positionals[0], "kiln upload needs a file");
      return { name: "upload", json: values.json ?? false, file, chunkSize: positiveInteger("--chunk-size", values["chunk-size"]) };
    }
    case "keys":
    case "origins": {
      const { values } = parse(rest, GLOBAL, 0);
      if (values.help) return { name: "help", json: false };
      return { name: word, json: values.json ?? false };
    }
    default:
      throw new UsageError(`unknown command: ${word}`);
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/** node:util's parseArgs, strict, with its errors as usage errors and at most `maxPositionals` arguments. */
function parse<O extends Options>(args: string[], options: O, maxPositionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length > maxPositionals) throw new UsageError(`unexpected argument: ${parsed.positionals[maxPositionals]}`);
  return parsed;
}

function required(value: string | undefined, message: string): string {
  if (value === undefined) throw new UsageError(message);
  return value;
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`${flag} takes a positive whole number, got ${value}`);
  return Number(value);
}
