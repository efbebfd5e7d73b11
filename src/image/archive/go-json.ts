/**
 * JSON as Go's encoding/json writes it, so that files dockerd writes (and the digests taken
 * over them, like the legacy v1 layer IDs) come out the same: `<`, `>`, `&`, U+2028 and U+2029
 * are escaped (json.Marshal's HTML-safe default), maps have sorted keys (the caller sorts),
 * and times are RFC 3339 with trailing zeros of the fraction dropped.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** json.Encoder.Encode: the JSON and a newline (manifest.json, repositories). */
export function goJsonLine(value: unknown): string {
  return `${goJson(value)}\n`;
}

/** Go's zero time, what dockerd writes for a missing `created`. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** A time as Go marshals a parsed time.Time: RFC 3339, fraction without trailing zeros. */
export function goTime(text: string | undefined): string {
  if (!text) return GO_ZERO_TIME;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return text;
  const frac = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  return `${m[1]}${frac ? `.${frac}` : ''}${m[3]}`;
}

/** An object with its keys sorted, as Go writes a map. */
export function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}
