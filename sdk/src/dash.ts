/** An element of an MPD: its name, attributes, text (for BaseURL) and children. */
interface Element {
  name: string;
  attributes: Record<string, string>;
  text: string;
  children: Element[];
}

/** A small XML reader: enough of an MPD's structure (elements, attributes, text) to list its files. */
function parseXml(xml: string): Element {
  const root: Element = { name: "#document", attributes: {}, text: "", children: [] };
  const stack = [root];
  const body = xml.replace(/<!--[\s\S]*?-->/g, "").replace(/<\?[\s\S]*?\?>/g, "");
  for (const token of body.matchAll(/<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[^\s=>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g)) {
    const [, closing, name, attributeText, selfClosing, text] = token;
    const current = stack[stack.length - 1]!;
    if (text !== undefined) {
      current.text += text;
      continue;
    }
    if (closing) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const [, key, double, single] of attributeText!.matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attributes[key!] = decodeEntities(double ?? single ?? "");
    const element: Element = { name: name!.replace(/^.*:/, ""), attributes, text: "", children: [] };
    current.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  return root;
}

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos);/g, (_, name: string) => ({ lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" })[name]!);
}

const child = (element: Element | undefined, name: string) => element?.children.find((c) => c.name === name);
const children = (element: Element, name: string) => element.children.filter((c) => c.name === name);

/** ISO 8601 durations as MPDs write them (PT1M2.5S, P1DT2H): seconds. */
function isoSeconds(duration: string | undefined): number {
  const m = duration?.match(/^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/);
  if (!m) return 0;
  const [, d, h, min, s] = m.map((part) => Number(part ?? 0));
  return d! * 86400 + h! * 3600 + min! * 60 + s!;
}

/** `$RepresentationID$`, `$Number$`, `$Number%05d$`, `$Bandwidth$`, `$Time$` and `$$`, filled in. */
function fillTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\$(\w*)(?:%0(\d+)d)?\$/g, (whole, name: string, width?: string) => {
    if (name === "") return "$";
    const value = values[name];
    if (value === undefined) return whole;
    return width ? String(value).padStart(Number(width), "0") : String(value);
  });
}

/** The (number, time) of each segment a SegmentTemplate names, from its timeline or its fixed duration. */
function templateSegments(template: Element, periodSeconds: number): { number: number; time: number }[] {
  const start = Number(template.attributes.startNumber ?? 1);
  const timeline = child(template, "SegmentTimeline");
  const segments: { number: number; time: number }[] = [];
  if (timeline) {
    let time = 0;
    for (const s of children(timeline, "S")) {
      if (s.attributes.t !== undefined) time = Number(s.attributes.t);
      const duration = Number(s.attributes.d);
      for (let i = 0; i <= Number(s.attributes.r ?? 0); i++) {
        segments.push({ number: start + segments.length, time });
        time += duration;
      }
    }
    return segments;
  }
  const duration = Number(template.attributes.duration);
  const timescale = Number(template.attributes.timescale ?? 1);
  const count = duration > 0 ? Math.ceil((periodSeconds * timescale) / duration) : 0;
  for (let i = 0; i < count; i++) segments.push({ number: start + i, time: i * duration });
  return segments;
}

/**
 * The URIs of every file an MPD names, relative to its own URL as written: each
 * representation's initialization and media segments (SegmentTemplate with or without a
 * timeline, SegmentList) or its single file (BaseURL, SegmentBase), BaseURLs applied.
 */
export function dashReferences(mpd: string): string[] {
  const document = child(parseXml(mpd), "MPD");
  if (!document) throw new Error("not an MPD: no <MPD> element");
  const uris = new Set<string>();
  const join = (base: string, uri: string) => (/^[a-z][a-z0-9+.-]*:/i.test(uri) || base === "" ? uri : base.replace(/[^/]*$/, "") + uri);
  const baseOf = (element: Element, base: string) => {
    const own = child(element, "BaseURL")?.text.trim();
    return own ? join(base, own) : base;
  };
  const totalSeconds = isoSeconds(document.attributes.mediaPresentationDuration);
  const mpdBase = baseOf(document, "");
  for (const period of children(document, "Period")) {
    const periodBase = baseOf(period, mpdBase);
    const periodSeconds = isoSeconds(period.attributes.duration) || totalSeconds;
    for (const set of children(period, "AdaptationSet")) {
      const setBase = baseOf(set, periodBase);
      for (const representation of children(set, "Representation")) {
        const base = baseOf(representation, setBase);
        const values = { RepresentationID: representation.attributes.id ?? "", Bandwidth: representation.attributes.bandwidth ?? "" };
        const template = child(representation, "SegmentTemplate") ?? child(set, "SegmentTemplate");
        const list = child(representation, "SegmentList") ?? child(set, "SegmentList");
        if (template) {
          if (template.attributes.initialization) uris.add(join(base, fillTemplate(template.attributes.initialization, values)));
          for (const segment of templateSegments(template, periodSeconds)) {
            uris.add(join(base, fillTemplate(template.attributes.media ?? "", { ...values, Number: segment.number, Time: segment.time })));
          }
        } else if (list) {
          const initialization = child(list, "Initialization")?.attributes.sourceURL;
          if (initialization) uris.add(join(base, initialization));
          for (const segment of children(list, "SegmentURL")) uris.add(segment.attributes.media ? join(base, segment.attributes.media) : base);
        } else if (base !== "") {
          uris.add(base);
        }
      }
    }
  }
  uris.delete("");
  return [...uris];
}
