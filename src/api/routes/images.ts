import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { Engine } from '../../engine/engine';
import { InvalidParameterError } from '../../errors';
import type { AuthConfig } from '../../registry/auth';
import { decodeAuthHeader } from '../../registry/auth';
import type { ProgressSink } from '../../image/progress';
import type { Filters } from '../../image/image-service';
import { parseFilters } from '../../image/image-service';
import { abortOnClose } from './system';
import { dockerHeaders, streamProgress } from '../stream';

/** What the image routes need from the daemon. */
export interface ImagesBackend {
  list(opts: { all: boolean; digests: boolean; filters: Filters }): Record<string, unknown>[];
  inspect(name: string): Record<string, unknown>;
  history(name: string): Record<string, unknown>[];
  tag(name: string, repo: string, tag: string | undefined): Promise<void>;
  remove(name: string, opts: { force: boolean; noprune: boolean }): Promise<Record<string, string>[]>;
  prune(filters: Filters): Promise<Record<string, unknown>>;
  pull(fromImage: string, tag: string | undefined, opts: { creds: AuthConfig; platform?: string; progress: ProgressSink; signal: AbortSignal }): Promise<void>;
  import(source: { url: string } | { body: Readable }, opts: { repo?: string; tag?: string; message?: string; changes: string[]; platform?: string; progress: ProgressSink }): Promise<void>;
  push(name: string, tag: string | undefined, opts: { creds: AuthConfig; progress: ProgressSink; signal: AbortSignal }): Promise<void>;
  save(names: string[]): Promise<Readable>;
  load(body: Readable, opts: { quiet: boolean; progress: ProgressSink }): Promise<void>;
  search(term: string, opts: { limit?: number; filters: Filters; creds: AuthConfig }): Promise<Record<string, unknown>[]>;
  distributionInspect(name: string, creds: AuthConfig): Promise<Record<string, unknown>>;
  login(creds: AuthConfig): Promise<{ Status: string; IdentityToken: string }>;
}

type Q = Record<string, string | undefined>;
const bool = (v: string | undefined) => v === '1' || v === 'true' || v === 'True';

/** `GET /images/{name}/json` etc.: names contain slashes, so the suffix is matched by hand. */
function splitImagePath(rest: string, suffixes: string[]): { name: string; action: string } | undefined {
  for (const s of suffixes) {
    if (rest.endsWith(`/${s}`)) return { name: decodeURIComponent(rest.slice(0, -(s.length + 1))), action: s };
  }
  return undefined;
}

function notFound(reply: FastifyReply) {
  return reply.code(404).type('application/json').send({ message: 'page not found' });
}

export function registerImageRoutes(app: FastifyInstance, engine: Engine, backend: ImagesBackend): void {
  const run = <T>(req: FastifyRequest, name: string, fn: () => Promise<T> | T) => engine.run(name, async () => fn(), { signal: abortOnClose(req.raw) });
  const creds = (req: FastifyRequest) => decodeAuthHeader(req.headers['x-registry-auth'] as string | undefined);

  app.get('/images/json', async (req) => {
    const q = req.query as Q;
    return run(req, 'images.list', () => backend.list({ all: bool(q.all), digests: bool(q.digests), filters: parseFilters(q.filters) }));
  });

  app.post('/images/create', async (req, reply) => {
    const q = req.query as Q;
    if (q.fromImage) {
      const fromImage = q.fromImage.replace(/:$/, '');
      return streamProgress(req, reply, (sink, signal) =>
        engine.run('images.pull', () => backend.pull(fromImage, q.tag, { creds: creds(req), platform: q.platform, progress: sink, signal }), { signal }),
      );
    }
    if (q.fromSrc) {
      const source = q.fromSrc === '-' ? { body: req.body as Readable } : { url: q.fromSrc };
      const changes = ([] as string[]).concat((req.query as Record<string, string | string[]>).changes ?? []);
      return streamProgress(req, reply, (sink, signal) =>
        engine.run('images.import', () => backend.import(source, { repo: q.repo, tag: q.tag, message: q.message, changes, platform: q.platform, progress: sink }), { signal }),
      );
    }
    throw new InvalidParameterError('either fromImage or fromSrc must be given');
  });

  app.post('/images/load', async (req, reply) => {
    const q = req.query as Q;
    return streamProgress(req, reply, (sink, signal) => engine.run('images.load', () => backend.load(req.body as Readable, { quiet: q.quiet === undefined ? true : bool(q.quiet), progress: sink }), { signal }));
  });

  app.get('/images/get', async (req, reply) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    const names = ([] as string[]).concat(q.names ?? []);
    const tar = await run(req, 'images.save', () => backend.save(names));
    reply.hijack();
    reply.raw.writeHead(200, { ...dockerHeaders(), 'Content-Type': 'application/x-tar' });
    tar.pipe(reply.raw);
  });

  app.get('/images/search', async (req) => {
    const q = req.query as Q;
    if (!q.term) throw new InvalidParameterError('term is required');
    const limit = q.limit ? Number(q.limit) : undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) throw new InvalidParameterError('Limit 0 is outside the range of [1, 100]'.replace('0', String(q.limit)));
    return run(req, 'images.search', () => backend.search(q.term!, { limit, filters: parseFilters(q.filters), creds: creds(req) }));
  });

  app.post('/images/prune', async (req) => {
    const q = req.query as Q;
    return run(req, 'images.prune', () => backend.prune(parseFilters(q.filters)));
  });

  app.get('/images/*', async (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    const m = splitImagePath(rest, ['json', 'history', 'get']);
    if (!m) return notFound(reply);
    if (m.action === 'json') return run(req, 'images.inspect', () => backend.inspect(m.name));
    if (m.action === 'history') return run(req, 'images.history', () => backend.history(m.name));
    const tar = await run(req, 'images.save', () => backend.save([m.name]));
    reply.hijack();
    reply.raw.writeHead(200, { ...dockerHeaders(), 'Content-Type': 'application/x-tar' });
    tar.pipe(reply.raw);
    return reply;
  });

  app.post('/images/*', async (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    const m = splitImagePath(rest, ['tag', 'push']);
    if (!m) return notFound(reply);
    const q = req.query as Q;
    if (m.action === 'tag') {
      await run(req, 'images.tag', () => backend.tag(m.name, q.repo ?? '', q.tag || undefined));
      return reply.code(201).send();
    }
    const auth = req.headers['x-registry-auth'];
    return streamProgress(req, reply, (sink, signal) =>
      engine.run('images.push', () => backend.push(m.name, q.tag || undefined, { creds: decodeAuthHeader(auth as string | undefined), progress: sink, signal }), { signal }),
    );
  });

  app.delete('/images/*', async (req) => {
    const name = decodeURIComponent((req.params as { '*': string })['*']);
    const q = req.query as Q;
    return run(req, 'images.delete', () => backend.remove(name, { force: bool(q.force), noprune: bool(q.noprune) }));
  });

  app.get('/distribution/*', async (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    const m = splitImagePath(rest, ['json']);
    if (!m) return notFound(reply);
    return run(req, 'distribution.inspect', () => backend.distributionInspect(m.name, creds(req)));
  });

  app.post('/auth', async (req) => {
    const body = (req.body ?? {}) as AuthConfig;
    return run(req, 'auth', () => backend.login(body));
  });
}
