import { InvalidParameterError } from '../errors';

/** Docker's `filters` query value once parsed: key → values. */
export type Filters = Record<string, string[]>;

/** The filters `GET /volumes` accepts. */
export const LIST_FILTERS = ['dangling', 'driver', 'label', 'name'] as const;
/** The filters `POST /volumes/prune` accepts (`all` from API 1.42, see the route). */
export const PRUNE_FILTERS = ['label', 'label!'] as const;

/** Refuse a key outside `accepted`, with dockerd's message. */
export function checkFilterKeys(filters: Filters, accepted: readonly string[]): void {
  for (const key of Object.keys(filters)) {
    if (!accepted.includes(key)) throw new InvalidParameterError(`Invalid filter '${key}'`);
  }
}

/**
 * Docker's `MatchKVList`: every value (`key` or `key=value`) must hold for `labels`. No
 * values always match; values against a volume without labels never do.
 */
export function matchLabels(values: string[] | undefined, labels: Record<string, string> | null): boolean {
  if (!values || values.length === 0) return true;
  if (!labels) return false;
  return values.every((v) => {
    const eq = v.indexOf('=');
    if (eq < 0) return Object.hasOwn(labels, v);
    const key = v.slice(0, eq);
    return Object.hasOwn(labels, key) && labels[key] === v.slice(eq + 1);
  });
}

/** Docker's `Match`: some value equals `name` or, as a regular expression, matches it. */
export function matchName(values: string[], name: string): boolean {
  return values.some((v) => {
    if (v === name) return true;
    try {
      return new RegExp(v).test(name);
    } catch {
      return false; // dockerd skips a value that does not compile
    }
  });
}

/**
 * The `dangling` filter: true for "only unused volumes", false for "only used ones". `true`
 * or `1` among the values wins; otherwise `false` or `0` must be there.
 */
export function danglingWanted(values: string[]): boolean {
  if (values.includes('true') || values.includes('1')) return true;
  if (values.includes('false') || values.includes('0')) return false;
  throw new InvalidParameterError(`Invalid filter 'dangling=[${values.join(' ')}]'`);
}
