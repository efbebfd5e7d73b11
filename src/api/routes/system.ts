import type { FastifyInstance } from 'fastify';
import type { Engine, Job } from '../../engine/engine';
import { API_VERSION } from '../../version';

/** What the system routes need from the daemon. */
export interface SystemBackend {
  version(job: Job): Promise<Record<string, unknown>>;
  info(job: Job): Promise<Record<string, unknown>>;
}

export function registerSystemRoutes(app: FastifyInstance, engine: Engine, backend: SystemBackend): void {
  const pingHeaders = {
    'Api-Version': API_VERSION,
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Content-Type': 'text/plain; charset=utf-8',
  };
  app.get('/_ping', { exposeHeadRoute: false }, async (_req, reply) => reply.headers(pingHeaders).send('OK'));
  app.head('/_ping', async (_req, reply) => reply.headers({ ...pingHeaders, 'Content-Length': '0' }).send());

  app.get('/version', async (req) => engine.run('version', (job) => backend.version(job), { signal: abortOnClose(req.raw) }));
  app.get('/info', async (req) => engine.run('info', (job) => backend.info(job), { signal: abortOnClose(req.raw) }));
}

/** An AbortSignal that fires when the client closes the connection before the answer. */
export function abortOnClose(req: import('node:http').IncomingMessage): AbortSignal {
  const ac = new AbortController();
  req.socket?.once('close', () => ac.abort(new Error('client closed the connection')));
  return ac.signal;
}
