/**
 * Kiln's DASH packager, the pure parts: the dash muxer's argv for a stream copy of the
 * selected streams, and the MPD edits that give each stream the segment names its
 * `output` asks for and its bandwidth. The dash muxer names representations by output
 * stream index (the order of the -map options), so representation `i` is stream `i`.
 */

export interface PackagedStream {
  /** Index of its file among the argv's inputs. */
  input: number;
  /** Index of the stream in its file. */
  stream: number;
  kind: "video" | "audio";
  /** The base of its segment names. */
  base: string;
  bandwidth?: number;
}

/** What the dash muxer writes in the staging directory, by representation id. */
export const stagedInit = (rep: number) => `init_${rep}.mp4`;
export const STAGED_SEGMENT = /^seg_(\d+)_(\d+)\.m4s$/;
export const STAGED_MPD = "manifest.mpd";

/** What a stream's files are called in the package. */
export const packagedInit = (base: string) => `${base}_init.mp4`;
export const packagedSegment = (base: string, n: string) => `${base}_${n}.m4s`;

/**
 * The argv (after ffmpeg's fixed options) that packages `streams` of `files` into
 * `staging`: no re-encode, fMP4 segments with a template and timeline, one adaptation set
 * per stream kind.
 */
export function dashPackageArgs(files: readonly string[], streams: readonly PackagedStream[], staging: string, segmentS?: number): string[] {
  const kinds = (["video", "audio"] as const).filter((k) => streams.some((s) => s.kind === k));
  return [
    ...files.flatMap((file) => ["-i", file]),
    ...streams.flatMap((s) => ["-map", `${s.input}:${s.stream}`]),
    "-c", "copy",
    "-f", "dash",
    "-dash_segment_type", "mp4",
    "-use_template", "1",
    "-use_timeline", "1",
    ...(segmentS === undefined ? [] : ["-seg_duration", String(segmentS)]),
    "-adaptation_sets", kinds.map((k, i) => `id=${i},streams=${k === "video" ? "v" : "a"}`).join(" "),
    "-init_seg_name", "init_$RepresentationID$.mp4",
    "-media_seg_name", "seg_$RepresentationID$_$Number$.m4s",
    `${staging}/${STAGED_MPD}`,
  ];
}

/**
 * The muxer's MPD with each representation's SegmentTemplate naming its stream's files
 * and its bandwidth set: the stream's own (`bandwidth` given) or, where the muxer wrote
 * none or 0 (a stream copied from a container that declares no bit rate), `measured`.
 */
export function nameRepresentations(mpd: string, streams: readonly PackagedStream[], measured: (rep: number) => number): string {
  let seen = 0;
  const edited = mpd.replace(/<Representation\b[^>]*>[\s\S]*?<\/Representation>/g, (block) => {
    const rep = Number(/^<Representation\b[^>]*\bid="(\d+)"/.exec(block)?.[1]);
    const stream = streams[rep];
    if (!stream) throw new Error(`the MPD names representation ${rep}, which no input asked for`);
    seen++;
    const declared = Number(/^<Representation\b[^>]*\bbandwidth="(\d+)"/.exec(block)?.[1] ?? 0);
    const bandwidth = stream.bandwidth ?? (declared > 0 ? declared : measured(rep));
    const open = /^<Representation\b[^>]*>/.exec(block)![0];
    const withBandwidth = / bandwidth="\d*"/.test(open) ? open.replace(/ bandwidth="\d*"/, ` bandwidth="${bandwidth}"`) : open.replace(/>$/, ` bandwidth="${bandwidth}">`);
    return (withBandwidth + block.slice(open.length))
      .replace(/initialization="init_\$RepresentationID\$\.mp4"/, `initialization="${packagedInit(stream.base)}"`)
      .replace(/media="seg_\$RepresentationID\$_\$Number\$\.m4s"/, `media="${packagedSegment(stream.base, "$Number$")}"`);
  });
  if (seen !== streams.length) throw new Error(`the MPD has ${seen} representations for ${streams.length} streams`);
  return edited;
}
