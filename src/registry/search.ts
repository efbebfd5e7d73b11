/**
 * `GET /images/search`: the v1 search of the term's index (dockerd 20.10's
 * SearchRegistryForImages + registry.Service.Search).
 *
 * - The term names its index like a reference: `busybox`, `user/app` → Docker Hub
 *   (`https://index.docker.io/v1/search`, `library/` dropped from the query);
 *   `127.0.0.1:5000/foo`, `localhost/foo`, `my.reg/foo` → that registry's `/v1/search`, over
 *   https, then plain http when the registry is insecure (RegistryRules), as for pulls.
 * - Filters: `is-automated`, `is-official` (exactly one value, `true` or `false`) and `stars`
 *   (integers; the largest is the minimum star count). Anything else is
 *   `Invalid filter '<name>'`; a bad value `Invalid filter '<name>=<value>'` (lists printed as
 *   Go prints them: `[a b]`). Filters are checked before the registry is asked.
 * - Answers `[{star_count, is_official, name, is_automated, description}]`, in dockerd's key order.
 */
import { InvalidParameterError, SystemError, UnavailableError } from '../errors';
import type { Filters } from '../image/image-service';
import type { AuthConfig } from './auth';
import { insecureHint, lookupEndpoints, tlsOptions, type RegistryEndpoint } from './endpoints';
import type { RegistryAccess } from './registry-access';
import { RegistryRules } from './registry-config';
import { readBody } from './transport';

export const DEFAULT_SEARCH_LIMIT = 25;
const OFFICIAL_INDEX = 'https://index.docker.io';
const ACCEPTED_FILTERS = new Set(['is-automated', 'is-official', 'stars']);

export interface SearchResult {
  star_count: number;
  is_official: boolean;
  name: string;
  is_automated: boolean;
  description: string;
}

interface SearchFilter {
  isAutomated?: boolean;
  isOfficial?: boolean;
  minStars?: number;
}

/** Go's fmt of a []string: `[a b]`. */
const goList = (values: string[]) => `[${values.join(' ')}]`;

/** Checks and reads the search filters (before any registry request, as dockerd does). */
export function parseSearchFilters(filters: Filters): SearchFilter {
  for (const key of Object.keys(filters)) if (!ACCEPTED_FILTERS.has(key)) throw new InvalidParameterError(`Invalid filter '${key}'`);
  const out: SearchFilter = {};
  for (const key of ['is-automated', 'is-official'] as const) {
    const values = filters[key];
    if (!values) continue;
    if (values.length !== 1 || (values[0] !== 'true' && values[0] !== 'false')) throw new InvalidParameterError(`Invalid filter '${key}=${goList(values)}'`);
    out[key === 'is-automated' ? 'isAutomated' : 'isOfficial'] = values[0] === 'true';
  }
  for (const v of filters.stars ?? []) {
    if (!/^[+-]?\d+$/.test(v)) throw new InvalidParameterError(`Invalid filter 'stars=${v}'`);
    out.minStars = Math.max(out.minStars ?? 0, Number(v));
  }
  return out;
}

/** Docker's splitReposSearchTerm: the index name and the query sent to it. */
export function splitSearchTerm(term: string): { index: string; query: string } {
  const slash = term.indexOf('/');
  const first = slash < 0 ? '' : term.slice(0, slash);
  if (slash < 0 || (!first.includes('.') && !first.includes(':') && first !== 'localhost')) {
    return { index: 'docker.io', query: term.replace(/^library\//, '') };
  }
  const index = first === 'index.docker.io' ? 'docker.io' : first;
  const query = term.slice(slash + 1);
  return { index, query: RegistryRules.isOfficial(index) ? query.replace(/^library\//, '') : query };
}

async function indexEndpoints(access: RegistryAccess, index: string): Promise<RegistryEndpoint[]> {
  if (RegistryRules.isOfficial(index)) return [{ url: new URL(OFFICIAL_INDEX), mirror: false, official: true, insecureSkipVerify: false }];
  return lookupEndpoints(index, access.rules, access.certsDir);
}

/** Queries the index for `term` and applies `filters`. */
export async function searchImages(access: RegistryAccess, term: string, opts: { limit?: number; filters: Filters; creds: AuthConfig }): Promise<SearchResult[]> {
  const filter = parseSearchFilters(opts.filters);
  const limit = opts.limit ?? DEFAULT_SEARCH_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new InvalidParameterError(`Limit ${limit} is outside the range of [1, 100]`);
  const { index, query } = splitSearchTerm(term);
  const endpoints = await indexEndpoints(access, index);
  const headers: Record<string, string> = { 'user-agent': 'tsdocker', accept: 'application/json' };
  if (opts.creds.username) headers.authorization = `Basic ${Buffer.from(`${opts.creds.username}:${opts.creds.password ?? ''}`).toString('base64')}`;
  const failures: string[] = [];
  for (const ep of endpoints) {
    const url = new URL('/v1/search', ep.url);
    url.searchParams.set('q', query);
    url.searchParams.set('n', String(limit));
    let res;
    try {
      res = await access.transport({ url, method: 'GET', headers, tls: tlsOptions(ep) });
    } catch (e) {
      failures.push(`${ep.url.protocol === 'https:' ? 'HTTPS' : 'HTTP'} attempt: Get "${url.href}": ${(e as Error).message}`);
      continue;
    }
    const body = await readBody(res, 16 * 1024 * 1024);
    if (res.status !== 200) throw new SystemError(`Unexpected status code ${res.status}`);
    let results: Partial<SearchResult>[];
    try {
      results = (JSON.parse(body.toString('utf8')) as { results?: Partial<SearchResult>[] }).results ?? [];
    } catch {
      throw new SystemError(`invalid search answer from ${url.origin}: not JSON`);
    }
    return results.map(shape).filter((r) => keep(r, filter));
  }
  const v1 = new URL('/v1/', endpoints[0]!.url).href;
  const first = failures[0]?.replace(/^HTTPS? attempt: /, '') ?? 'no endpoint';
  if (endpoints[0]!.official) throw new UnavailableError(first);
  if (endpoints.length === 1) throw new UnavailableError(`invalid registry endpoint ${v1}: ${first}. ${insecureHint(index, access.certsDir)}`);
  throw new UnavailableError(`invalid registry endpoint "${new URL('/v1/', endpoints[endpoints.length - 1]!.url).href}". ${failures.join('. ')}`);
}

function shape(r: Partial<SearchResult>): SearchResult {
  return {
    star_count: Number(r.star_count ?? 0),
    is_official: Boolean(r.is_official),
    name: String(r.name ?? ''),
    is_automated: Boolean(r.is_automated),
    description: String(r.description ?? ''),
  };
}

function keep(r: SearchResult, f: SearchFilter): boolean {
  if (f.isAutomated !== undefined && r.is_automated !== f.isAutomated) return false;
  if (f.isOfficial !== undefined && r.is_official !== f.isOfficial) return false;
  if (f.minStars !== undefined && r.star_count < f.minStars) return false;
  return true;
}
