import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Engine } from '../../engine/engine';
import { InvalidParameterError } from '../../errors';
import { dockerHeaders } from '../stream';
import { abortOnClose } from './system';

type Json = Record<string, unknown>;

/** What the stats route needs (see src/container/stats.ts). `GET /containers/{id}/top` lives in containers.ts. */
export interface ContainerStatsBackend {
  once(ref: string, oneShot: boolean, signal: AbortSignal): Promise<Json>;
  stream(ref: string, emit: (json: Json) => void, signal: AbortSignal): Promise<void>;
}

/** dockerd's httputils.BoolValueOrDefault: absent → `def`; otherwise false only for '', 0, no, false, none. */
export function dockerBool(v: string | undefined, def: boolean): boolean {
  if (v === undefined) return def;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

/**
 * `GET /containers/{id}/stats`. Without streaming the answer is one JSON document (with
 * dockerd's trailing newline); a stream is a chunked reply without Content-Type (as dockerd
 * sends it), one JSON object and `\n` per cycle, written until the client leaves.
 */
export function registerContainerStatsRoutes(app: FastifyInstance, engine: Engine, b: ContainerStatsBackend): void {
  app.get('/containers/:id/stats', async (req: FastifyRequest, reply) => {
    const id = (req.params as { id: string }).id;
    const q = req.query as Record<string, string | undefined>;
    const stream = dockerBool(q.stream, true);
    const oneShot = dockerBool(q['one-shot'], false);
    if (stream && oneShot) throw new InvalidParameterError('cannot have stream=true and one-shot=true');
    const signal = abortOnClose(req.raw);
    if (!stream) {
      const json = await engine.run('containers.stats', (job) => b.once(id, oneShot, job.signal), { signal });
      return reply.type('application/json').send(`${JSON.stringify(json)}\n`);
    }
    let started = false;
    const emit = (json: Json) => {
      if (!started) {
        started = true;
        reply.hijack();
        reply.raw.writeHead(200, dockerHeaders());
      }
      if (!reply.raw.destroyed) reply.raw.write(`${JSON.stringify(json)}\n`);
    };
    try {
      await engine.run('containers.stats', (job) => b.stream(id, emit, job.signal), { signal });
    } catch (e) {
      if (!started) throw e;
      req.log.info({ err: e }, 'stats stream ended by an error');
    }
    reply.raw.end();
  });
}
