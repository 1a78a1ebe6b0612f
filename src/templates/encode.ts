/**
 * RFC 3986 percent-encoding that leaves only unreserved characters (A-Z a-z 0-9 - . _ ~)
 * as they are. Applied in every URL position (host, path, query name or value, fragment),
 * so no value can add a separator: `&`, `=`, `#`, `?`, `/`, `+`, `%`, quotes, CR/LF and
 * non-ASCII all arrive percent-encoded and decode back to the original string.
 */
export function encodeUriStrict(value: string): string {
  // Lone surrogates make encodeURIComponent throw; they become U+FFFD instead.
  const encoded = encodeURIComponent(value.isWellFormed() ? value : value.toWellFormed());
  // encodeURIComponent leaves !'()* alone; they are sub-delims, so encode them too.
  return /[!'()*]/.test(encoded) ? encoded.replace(/[!'()*]/g, escapeSubDelim) : encoded;
}

function escapeSubDelim(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
}

