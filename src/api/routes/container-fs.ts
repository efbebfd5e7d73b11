import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { Engine } from '../../engine/engine';
import { InvalidParameterError } from '../../errors';
import { abortOnClose } from './system';

/** Docker's ContainerPathStat (sent base64 JSON in `X-Docker-Container-Path-Stat`). */
export interface ContainerPathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface CommitParams {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  pause: boolean;
  changes: string[];
  config: unknown;
}

/** What the container filesystem routes (archive, export, commit) need from the daemon. */
export interface ContainerFsBackend {
  statPath(id: string, path: string): Promise<ContainerPathStat>;
  archivePath(id: string, path: string): Promise<{ stat: ContainerPathStat; tar: Readable }>;
  extractToDir(id: string, path: string, tar: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void>;
  export(id: string): Promise<Readable>;
  commit(params: CommitParams): Promise<{ Id: string }>;
}

type Q = Record<string, string | string[] | undefined>;

/** The last value of a query parameter given once or repeated. */
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[v.length - 1] : v);

/** Go's httputils.BoolValue: anything but "", "0", "no", "false", "none" is true. */
function boolValue(v: string | string[] | undefined): boolean {
  const s = (one(v) ?? '').trim().toLowerCase();
  return !['', '0', 'no', 'false', 'none'].includes(s);
}

const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

function statHeader(stat: ContainerPathStat): string {
  const { name, size, mode, mtime, linkTarget } = stat;
  return Buffer.from(JSON.stringify({ name, size, mode, mtime, linkTarget })).toString('base64');
}

/** A body that fastify left as a stream (no JSON content type) read as JSON, or undefined. */
async function jsonBody(body: unknown): Promise<unknown> {
  if (!(body instanceof Readable)) return body;
  let text = '';
  for await (const chunk of body) text += String(chunk);
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InvalidParameterError(`invalid JSON: ${(e as Error).message}`);
  }
}

export function registerContainerFsRoutes(app: FastifyInstance, engine: Engine, b: ContainerFsBackend): void {
  const run = <T>(req: FastifyRequest, name: string, fn: () => Promise<T>) => engine.run(name, () => fn(), { signal: abortOnClose(req.raw) });
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;
  const q = (req: FastifyRequest) => req.query as Q;
  const path = (req: FastifyRequest) => one(q(req).path) ?? '';

  app.route({
    method: 'HEAD',
    url: '/containers/:id/archive',
    handler: async (req, reply) => {
      const stat = await run(req, 'containers.archive.stat', () => b.statPath(id(req), path(req)));
      return reply.code(200).header(PATH_STAT_HEADER, statHeader(stat)).send();
    },
  });
  app.get('/containers/:id/archive', { exposeHeadRoute: false }, async (req, reply: FastifyReply) => {
    const { stat, tar } = await run(req, 'containers.archive', () => b.archivePath(id(req), path(req)));
    reply.raw.once('close', () => tar.destroy());
    return reply.code(200).header(PATH_STAT_HEADER, statHeader(stat)).type('application/x-tar').send(tar);
  });
  app.put('/containers/:id/archive', async (req, reply) => {
    const body = req.body instanceof Readable ? req.body : Readable.from(Buffer.alloc(0));
    const q0 = q(req);
    await run(req, 'containers.extract', () => b.extractToDir(id(req), path(req), body, { noOverwriteDirNonDir: boolValue(q0.noOverwriteDirNonDir), copyUIDGID: boolValue(q0.copyUIDGID) }));
    return reply.code(200).send();
  });
  app.get('/containers/:id/export', async (req, reply) => {
    const tar = await run(req, 'containers.export', () => b.export(id(req)));
    reply.raw.once('close', () => tar.destroy());
    return reply.code(200).type('application/octet-stream').send(tar);
  });
  app.post('/commit', async (req, reply) => {
    const q0 = q(req);
    const changes = q0.changes === undefined ? [] : Array.isArray(q0.changes) ? q0.changes : [q0.changes];
    const config = await jsonBody(req.body);
    const res = await run(req, 'containers.commit', () =>
      b.commit({
        container: one(q0.container) ?? '',
        repo: one(q0.repo) || undefined,
        tag: one(q0.tag) || undefined,
        comment: one(q0.comment) || undefined,
        author: one(q0.author) || undefined,
        // API ≥ 1.13: pause unless told otherwise.
        pause: one(q0.pause) === undefined || one(q0.pause) === '' ? true : boolValue(q0.pause),
        changes,
        config,
      }),
    );
    return reply.code(201).send(res);
  });
}
