import path from "node:path";
import type { KindJobRequest } from "../sdk/src/index";
import type { KindFlags } from "./args";
import { UsageError } from "./usage-error";

type Options = NonNullable<KindJobRequest["options"]>;

/** File extensions that name a kind's format when --format is not given (`-o out.webm`). */
const FORMAT_OF_EXTENSION: Record<string, string> = { jpg: "jpeg", m3u8: "hls" };

/**
 * A kind job's options from the flags: numbers where the API takes numbers, `"50%"` kept as
 * a string for sizes; which values a kind accepts is the API's to say (it answers 400 with a code).
 */
export function kindOptions(flags: KindFlags, output: string | undefined): Options {
  const options: Record<string, string | number> = {};
  for (const name of ["width", "height"] as const) {
    const value = flags[name];
    if (value !== undefined) options[name] = /^\d+$/.test(value) ? Number(value) : value;
  }
  for (const name of ["fps", "start", "end", "bitrate"] as const) {
    const value = flags[name];
    if (value === undefined) continue;
    const number = Number(value);
    if (value.trim() === "" || !Number.isFinite(number)) throw new UsageError(`--${name} takes a number, got ${value}`);
    options[name] = number;
  }
  for (const name of ["codec", "quality", "fit"] as const) {
    if (flags[name] !== undefined) options[name] = flags[name];
  }
  const format = flags.format ?? formatOfPath(output);
  if (format !== undefined) options.format = format;
  return options as Options;
}

function formatOfPath(output: string | undefined): string | undefined {
  const extension = output ? path.extname(new URL(output, "file:///").pathname).slice(1).toLowerCase() : "";
  if (!extension) return undefined;
  return FORMAT_OF_EXTENSION[extension] ?? extension;
}
