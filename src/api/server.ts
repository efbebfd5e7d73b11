import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { toHttpError } from './server-errors';
import type { Engine } from '../engine/engine';
import { checkVersion, splitVersion, type ApiVersionInfo } from './version-adapter';
import { registerSystemRoutes, trackClientAbort, type SystemBackend } from './routes/system';
import { registerImageRoutes, type ImagesBackend } from './routes/images';
import { registerContainerRoutes, type ContainersBackend } from './routes/containers';
import { registerContainerFsRoutes, type ContainerFsBackend } from './routes/container-fs';
import { registerEventRoutes } from './routes/events';
import { registerAttachRoutes, type AttachBackend } from './routes/attach';
import { registerExecRoutes, type ExecBackend } from './routes/exec';
import type { EventBus } from '../events/events';
import { registerVolumeRoutes, type VolumesBackend } from './routes/volumes';
import { registerContainerStatsRoutes, type ContainerStatsBackend } from './routes/container-stats';
import { registerDiskUsageRoutes, type DiskUsageBackend } from './routes/system-df';
import { registerEmulatorControl, type EmulatorControlOptions } from './faults';
import { API_VERSION, DAEMON_VERSION } from '../version';

declare module 'fastify' {
  interface FastifyRequest {
    api: ApiVersionInfo;
  }
}

export interface ApiBackends {
  system: SystemBackend;
  /** Absent when the kernel has no storage driver. */
  images?: ImagesBackend;
  volumes?: VolumesBackend;
  containers?: ContainersBackend;
  containerFs?: ContainerFsBackend;
  attach?: AttachBackend;
  exec?: ExecBackend;
  events?: EventBus;
  containerStats?: ContainerStatsBackend;
  diskUsage?: DiskUsageBackend;
  /** Emulated kernels only: fault injection and the clock under /_emulator (see faults.ts). */
  emulator?: EmulatorControlOptions;
}

export interface ApiOptions {
  log: Logger;
  engine: Engine;
  backends: ApiBackends;
  corsHeader: string;
  experimental?: boolean;
  /** Receives fastify's request handler so that listeners.ts can serve it on any number of servers. */
  serverFactory?: (handler: (req: IncomingMessage, res: ServerResponse) => void) => void;
}

const VERSION_BY_REQ = new WeakMap<IncomingMessage, ApiVersionInfo>();
const SERVER_HEADER = `Docker/${DAEMON_VERSION} (linux)`;

/**
 * Build the Remote API as a fastify app (no listening: see listeners.ts). Routes are thin:
 * parse, run the work as an engine job, write the answer. Errors go through one handler.
 */
export function buildApi(opts: ApiOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024 * 1024,
    return503OnClosing: false,
    ...(opts.serverFactory
      ? {
          serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
            opts.serverFactory!(handler);
            // fastify wants a server object; the real ones are made by listeners.ts.
            return createServer();
          },
        }
      : {}),
    rewriteUrl(req) {
      const { url, api } = splitVersion(req.url ?? '/');
      VERSION_BY_REQ.set(req, api);
      return url;
    },
    // Docker answers unknown routes with 404 whatever the method; keep fastify from 405/400 tricks.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1024 },
  });

  app.decorateRequest('api', null as unknown as ApiVersionInfo);

  // Bodies: JSON where the client says JSON (an empty body is allowed), the raw stream otherwise.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const err = new Error(`invalid JSON: ${(e as Error).message}`) as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.addHook('onRequest', async (req, reply) => {
    req.api = VERSION_BY_REQ.get(req.raw) ?? { version: API_VERSION, explicit: false };
    trackClientAbort(req.raw, reply.raw);
    (req as FastifyRequest & { startedAt: bigint }).startedAt = process.hrtime.bigint();
    const bad = checkVersion(req.api);
    if (bad) {
      reply.header('Api-Version', API_VERSION).header('Ostype', 'linux').header('Server', SERVER_HEADER);
      if (bad.tooNew) return reply.code(400).type('application/json').send({ message: bad.message });
      // dockerd answers a too-old client in plain text.
      return reply.code(400).type('text/plain; charset=utf-8').header('X-Content-Type-Options', 'nosniff').send(`${bad.message}\n`);
    }
    if (opts.corsHeader) {
      reply
        .header('Access-Control-Allow-Origin', opts.corsHeader)
        .header('Access-Control-Allow-Headers', 'Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth')
        .header('Access-Control-Allow-Methods', 'HEAD, GET, POST, DELETE, PUT, OPTIONS');
    }
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode !== 404 || reply.getHeader('Api-Version') !== undefined || !isPageNotFound(reply)) {
      reply
        .header('Api-Version', API_VERSION)
        .header('Docker-Experimental', String(opts.experimental ?? false))
        .header('Ostype', 'linux')
        .header('Server', SERVER_HEADER);
    }
    // dockerd sends exactly `application/json`; the docker CLI parses an error body only then.
    if (reply.getHeader('Content-Type') === 'application/json; charset=utf-8') reply.header('Content-Type', 'application/json');
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const started = (req as FastifyRequest & { startedAt?: bigint }).startedAt;
    const ms = started ? Number(process.hrtime.bigint() - started) / 1e6 : undefined;
    req.log.debug({ method: req.method, url: req.raw.url, status: reply.statusCode, ms }, `Calling ${req.method} ${req.raw.url}`);
  });

  app.setErrorHandler(async (err: unknown, req, reply) => {
    const { status, message } = toHttpError(err);
    if (status >= 500) req.log.error({ err, method: req.method, url: req.raw.url }, `Handler for ${req.method} ${req.raw.url} returned error: ${message}`);
    else req.log.info({ method: req.method, url: req.raw.url, status }, `Handler for ${req.method} ${req.raw.url} returned error: ${message}`);
    if (status === 304) return reply.code(304).send();
    return reply.code(status).type('application/json').send({ message });
  });

  app.setNotFoundHandler(async (req, reply) => {
    if (req.method === 'OPTIONS') return reply.code(200).send();
    markPageNotFound(reply);
    return reply.code(404).type('application/json').send({ message: 'page not found' });
  });

  if (opts.backends.emulator) registerEmulatorControl(app, opts.engine, opts.backends.emulator);
  registerSystemRoutes(app, opts.engine, opts.backends.system);
  if (opts.backends.diskUsage) registerDiskUsageRoutes(app, opts.engine, opts.backends.diskUsage);
  if (opts.backends.images) registerImageRoutes(app, opts.engine, opts.backends.images);
  if (opts.backends.events) registerEventRoutes(app, opts.backends.events);
  if (opts.backends.containers) registerContainerRoutes(app, opts.engine, opts.backends.containers);
  if (opts.backends.containerStats) registerContainerStatsRoutes(app, opts.engine, opts.backends.containerStats);
  if (opts.backends.containerFs) registerContainerFsRoutes(app, opts.engine, opts.backends.containerFs);
  if (opts.backends.attach) registerAttachRoutes(app, opts.backends.attach);
  if (opts.backends.exec) registerExecRoutes(app, opts.backends.exec);
  if (opts.backends.volumes) registerVolumeRoutes(app, opts.engine, opts.backends.volumes);
  return app;
}

const PAGE_NOT_FOUND = new WeakSet<FastifyReply>();
function markPageNotFound(reply: FastifyReply) {
  PAGE_NOT_FOUND.add(reply);
}
function isPageNotFound(reply: FastifyReply) {
  return PAGE_NOT_FOUND.has(reply);
}

export { toHttpError } from './server-errors';
