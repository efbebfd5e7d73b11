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

const SIGNALS = new WeakMap<import('node:http').IncomingMessage, AbortSignal>();

/** Called once per request by the server: the signal fires when the client goes away before the answer. */
export function trackClientAbort(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const ac = new AbortController();
  SIGNALS.set(req, ac.signal);
  res.once('close', () => {
    if (!res.writableFinished) ac.abort(new Error('client closed the connection'));
  });
}

/** The request's client-abort signal (see trackClientAbort). */
export function abortOnClose(req: import('node:http').IncomingMessage): AbortSignal {
  return SIGNALS.get(req) ?? new AbortController().signal;
}
