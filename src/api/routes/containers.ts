import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Engine } from '../../engine/engine';
import { InvalidParameterError } from '../../errors';
import { parseFilters, type Filters } from '../../image/image-service';
import { abortOnClose } from './system';
import { dockerHeaders } from '../stream';

type Json = Record<string, unknown>;
type Q = Record<string, string | undefined>;

/** What the container routes need from the daemon (attach, logs, archive, exec have their own). */
export interface ContainersBackend {
  list(opts: { all: boolean; limit?: number; size: boolean; filters: Filters }): Promise<Json[]>;
  create(body: unknown, name: string | undefined, platform: string | undefined): Promise<{ Id: string; Warnings: string[] }>;
  inspect(id: string, size: boolean): Promise<Json>;
  top(id: string, psArgs: string): Promise<Json>;
  changes(id: string): Promise<Json[] | null>;
  start(id: string): Promise<void>;
  stop(id: string, t: number | undefined): Promise<void>;
  restart(id: string, t: number | undefined): Promise<void>;
  kill(id: string, signal: string | undefined): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  rename(id: string, name: string): Promise<void>;
  update(id: string, body: unknown): Promise<{ Warnings: string[] }>;
  resize(id: string, h: number, w: number): Promise<void>;
  wait(id: string, condition: string | undefined, signal: AbortSignal): Promise<Json>;
  remove(id: string, opts: { force: boolean; volumes: boolean; link: boolean }): Promise<void>;
  prune(filters: Filters): Promise<Json>;
}

const bool = (v: string | undefined) => v === '1' || v === 'true' || v === 'True';

function intParam(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new InvalidParameterError(`invalid value for ${name}: ${v}`);
  return Number(v);
}

export function registerContainerRoutes(app: FastifyInstance, engine: Engine, b: ContainersBackend): void {
  const run = <T>(req: FastifyRequest, name: string, fn: (signal: AbortSignal) => Promise<T>) =>
    engine.run(name, (job) => fn(job.signal), { signal: abortOnClose(req.raw) });
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;
  const q = (req: FastifyRequest) => req.query as Q;

  app.get('/containers/json', async (req) =>
    run(req, 'containers.list', () => b.list({ all: bool(q(req).all), limit: intParam(q(req).limit, 'limit'), size: bool(q(req).size), filters: parseFilters(q(req).filters) })),
  );
  app.post('/containers/create', async (req, reply) => {
    const ct = String(req.headers['content-type'] ?? '');
    if (req.body !== undefined && ct && !ct.startsWith('application/json')) throw new InvalidParameterError(`Content-Type specified (${ct}) must be 'application/json'`);
    const res = await run(req, 'containers.create', () => b.create(req.body, q(req).name || undefined, q(req).platform));
    return reply.code(201).send(res);
  });
  app.post('/containers/prune', async (req) => run(req, 'containers.prune', () => b.prune(parseFilters(q(req).filters))));
  app.get('/containers/:id/json', async (req) => run(req, 'containers.inspect', () => b.inspect(id(req), bool(q(req).size))));
  app.get('/containers/:id/top', async (req) => run(req, 'containers.top', () => b.top(id(req), q(req).ps_args ?? '')));
  app.get('/containers/:id/changes', async (req) => run(req, 'containers.changes', () => b.changes(id(req))));

  const noContent = (name: string, fn: (req: FastifyRequest) => Promise<void>) => async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    await run(req, name, () => fn(req));
    return reply.code(204).send();
  };
  app.post('/containers/:id/start', noContent('containers.start', (req) => b.start(id(req))));
  app.post('/containers/:id/stop', noContent('containers.stop', (req) => b.stop(id(req), intParam(q(req).t, 't'))));
  app.post('/containers/:id/restart', noContent('containers.restart', (req) => b.restart(id(req), intParam(q(req).t, 't'))));
  app.post('/containers/:id/kill', noContent('containers.kill', (req) => b.kill(id(req), q(req).signal || undefined)));
  app.post('/containers/:id/pause', noContent('containers.pause', (req) => b.pause(id(req))));
  app.post('/containers/:id/unpause', noContent('containers.unpause', (req) => b.unpause(id(req))));
  app.post('/containers/:id/rename', noContent('containers.rename', (req) => b.rename(id(req), q(req).name ?? '')));
  app.post('/containers/:id/update', async (req) => run(req, 'containers.update', () => b.update(id(req), req.body)));
  app.post('/containers/:id/resize', async (req, reply) => {
    const h = intParam(q(req).h, 'h') ?? 0;
    const w = intParam(q(req).w, 'w') ?? 0;
    await run(req, 'containers.resize', () => b.resize(id(req), h, w));
    return reply.code(200).send();
  });
  app.post('/containers/:id/wait', async (req, reply) => {
    // dockerd sends the status line at once and the body when the condition is met: the docker
    // CLI's `run` waits for those headers before it starts the container.
    const pending = run(req, 'containers.wait', (signal) => b.wait(id(req), q(req).condition, signal));
    const early = await Promise.race([
      pending.then((v) => ({ v }), (e: unknown) => ({ e })),
      new Promise<undefined>((r) => setImmediate(() => r(undefined))),
    ]);
    if (early && 'e' in early) throw early.e;
    if (early) return reply.code(200).send(early.v);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...dockerHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    try {
      res.end(`${JSON.stringify(await pending)}\n`);
    } catch (e) {
      res.end(`${JSON.stringify({ StatusCode: -1, Error: { Message: (e as Error).message } })}\n`);
    }
  });
  app.delete('/containers/:id', noContent('containers.delete', (req) => b.remove(id(req), { force: bool(q(req).force), volumes: bool(q(req).v), link: bool(q(req).link) })));
}
