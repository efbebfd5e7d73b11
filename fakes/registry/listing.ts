import { HttpResponse } from 'msw';
import { guardRepository, type Resolver } from './context';
import { registryError } from './errors';

const MAX_PAGE = 1000;

/** `GET /v2/` (and HEAD): 200 `{}` when the caller is authenticated enough, else the challenge. */
export const ping: Resolver = (ctx, request) => ctx.auth.authorize(request, undefined) ?? HttpResponse.json({});

/** `GET|POST /token`: the bearer token service. */
export const token: Resolver = (ctx, request) => ctx.auth.handleTokenRequest(request);

/** `GET /v2/<name>/tags/list?n=&last=`: sorted tags, paginated with a `Link` header. */
export const listTags: Resolver = (ctx, request, { name = '' }) => {
  const denied = guardRepository(ctx, request, name, ['pull']);
  if (denied) return denied;
  const tags = ctx.store.listTags(name);
  if (!tags) return registryError(404, 'NAME_UNKNOWN', { detail: { name } });
  const page = paginate(request, tags);
  if (page instanceof Response) return page;
  return HttpResponse.json({ name, tags: page.items }, { headers: page.headers });
};

/** `GET /v2/_catalog?n=&last=`: sorted repository names, paginated with a `Link` header. */
export const catalog: Resolver = (ctx, request) => {
  const denied = ctx.auth.authorize(request, { type: 'registry', name: 'catalog', actions: ['*'] });
  if (denied) return denied;
  const page = paginate(request, ctx.store.listRepositories());
  if (page instanceof Response) return page;
  return HttpResponse.json({ repositories: page.items }, { headers: page.headers });
};

/**
 * `GET /v1/search?q=&n=&page=`: Docker Hub's v1 search over the repositories that have
 * at least one tag, matching `q` case-insensitively in the name or description. Names of
 * `library/` repositories are reported without the prefix, as Docker Hub does.
 */
export const search: Resolver = (ctx, request) => {
  const query = new URL(request.url).searchParams;
  const q = query.get('q') ?? '';
  const pageSize = parseCount(query.get('n'), 25, 100);
  const pageNumber = parseCount(query.get('page'), 1, Number.MAX_SAFE_INTEGER);
  if (pageSize === undefined || pageSize === 0 || pageNumber === undefined || pageNumber === 0) {
    return registryError(400, 'PAGINATION_NUMBER_INVALID', { detail: { n: query.get('n'), page: query.get('page') } });
  }
  const needle = q.toLowerCase();
  const results = ctx.store
    .listRepositories()
    .filter((name) => (ctx.store.listTags(name) ?? []).length > 0)
    .map((name) => {
      const info = ctx.store.repositoryInfo(name)!;
      return {
        name: name.startsWith('library/') ? name.slice('library/'.length) : name,
        description: info.description,
        star_count: info.starCount,
        is_official: info.isOfficial,
        is_automated: info.isAutomated,
      };
    })
    .filter((r) => r.name.includes(needle) || r.description.toLowerCase().includes(needle))
    .sort((a, b) => b.star_count - a.star_count || a.name.localeCompare(b.name));
  const start = (pageNumber - 1) * pageSize;
  return HttpResponse.json({
    num_pages: Math.max(1, Math.ceil(results.length / pageSize)),
    num_results: results.length,
    page_size: pageSize,
    page: pageNumber,
    query: q,
    results: results.slice(start, start + pageSize),
  });
};

/** A non-negative integer parameter; `fallback` when absent, undefined when malformed or above `max`. */
function parseCount(value: string | null, fallback: number, max: number): number | undefined {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}

/** The `n`/`last` pagination of the distribution spec over a sorted list. */
function paginate(request: Request, sorted: string[]): { items: string[]; headers: Record<string, string> } | Response {
  const url = new URL(request.url);
  const n = parseCount(url.searchParams.get('n'), Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (n === undefined || (url.searchParams.has('n') && n > MAX_PAGE)) {
    return registryError(400, 'PAGINATION_NUMBER_INVALID', { detail: { n: url.searchParams.get('n') } });
  }
  const last = url.searchParams.get('last');
  const after = last === null ? sorted : sorted.filter((item) => item > last);
  const items = after.slice(0, n);
  const headers: Record<string, string> = {};
  const lastItem = items[items.length - 1];
  if (after.length > items.length && lastItem !== undefined) {
    headers.Link = `<${url.pathname}?last=${encodeURIComponent(lastItem)}&n=${n}>; rel="next"`;
  }
  return { items, headers };
}
