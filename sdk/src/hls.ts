/**
 * The URIs an HLS playlist names, as written (relative or absolute): variant and rendition
 * playlists, segments, init sections and keys.
 */
export function hlsReferences(playlist: string): string[] {
  const uris: string[] = [];
  for (const raw of playlist.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("#")) uris.push(line);
    // EXT-X-MEDIA, EXT-X-MAP, EXT-X-KEY, EXT-X-I-FRAME-STREAM-INF and the like name theirs in an attribute.
    else for (const match of line.matchAll(/\bURI="([^"]*)"/g)) uris.push(match[1]!);
  }
  return [...new Set(uris)];
}
