import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ContainerRecord } from '../../container/container';
import type { ContainerRuntime } from '../../container/runtime';
import { NotImplementedError } from '../../errors';
import { READING_NOT_SUPPORTED, type LogDriver } from '../../logs';
import type { Broadcaster } from '../../streams/broadcaster';
import { DEFAULT_DETACH_KEYS, DetachKeysTransform, parseDetachKeys } from '../../streams/detach-keys';
import { attachHijack, bridgeHijacked, sendRawStreamError, streamContentType } from '../hijack';
import { parseLogsQuery, queryBool, writeLogEntries } from '../logs-writer';
import { dockerHeaders } from '../stream';
import { acceptWebSocket } from '../websocket';
import { abortOnClose } from './system';

/** What attach and logs need from the container service. */
export interface AttachBackend {
  get(ref: string): ContainerRecord;
  output(id: string): Broadcaster;
  whenStarted(id: string): Promise<ContainerRuntime | undefined>;
  attached(id: string): void;
  logReader(id: string): { driver: LogDriver; stopped: Promise<void>; running: boolean };
}

type Q = Record<string, string | undefined>;

/**
 * Connect a client's stdin to the container: at once when it runs, else when it starts.
 * With StdinOnce the container's stdin is closed when the client's ends (docker run -i), but
 * never a TTY's (as dockerd): `docker run -it` then ctrl-p ctrl-q leaves the shell running.
 */
function wireStdin(b: AttachBackend, rec: ContainerRecord, input: PassThrough): void {
  const closeStdin = rec.Config.StdinOnce && !rec.Config.Tty;
  void b.whenStarted(rec.ID).then((rt) => {
    const stdin = rt?.stdin;
    if (!stdin) {
      input.resume();
      return;
    }
    input.pipe(stdin as NodeJS.WritableStream, { end: closeStdin });
  });
}

async function replayLogs(b: AttachBackend, rec: ContainerRecord, out: PassThrough, q: Q, signal: AbortSignal): Promise<void> {
  const { driver } = b.logReader(rec.ID);
  if (!driver.readable) return;
  const entries = driver.read({ stdout: queryBool(q.stdout), stderr: queryBool(q.stderr), signal });
  await writeLogEntries(entries, out, { tty: rec.Config.Tty }, signal);
}

export function registerAttachRoutes(app: FastifyInstance, b: AttachBackend): void {
  app.post('/containers/:id/attach', async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Q;
    let rec: ContainerRecord;
    let keys: Buffer;
    try {
      rec = b.get((req.params as { id: string }).id);
      keys = parseDetachKeys(q.detachKeys ?? DEFAULT_DETACH_KEYS);
    } catch (e) {
      sendRawStreamError(req, reply, e);
      return;
    }
    const wantStdin = queryBool(q.stdin) && rec.Config.OpenStdin;
    const socket = await attachHijack(req, reply, { contentType: streamContentType(req.api.version, rec.Config.Tty) });
    const out = new PassThrough();
    const signal = abortOnClose(req.raw);
    if (queryBool(q.logs)) await replayLogs(b, rec, out, q, signal).catch(() => undefined);
    let sub: { detach(): void } | undefined;
    if (queryBool(q.stream)) sub = b.output(rec.ID).attach(out, { stdout: queryBool(q.stdout), stderr: queryBool(q.stderr), multiplex: !rec.Config.Tty });
    else out.end();
    let stdin: PassThrough | undefined;
    if (wantStdin) {
      const detach = new DetachKeysTransform(keys);
      detach.once('detach', () => {
        sub?.detach();
        out.end();
      });
      stdin = new PassThrough();
      stdin.pipe(detach);
      const toProcess = new PassThrough();
      detach.pipe(toProcess);
      wireStdin(b, rec, toProcess);
    }
    b.attached(rec.ID);
    await bridgeHijacked(socket, { stdin, closeStdin: true, output: out });
  });

  app.get('/containers/:id/attach/ws', async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Q;
    const rec = b.get((req.params as { id: string }).id);
    const ws = await acceptWebSocket(req, reply);
    if (!ws) return;
    const out = new PassThrough();
    const signal = abortOnClose(req.raw);
    if (queryBool(q.logs)) await replayLogs(b, rec, out, { ...q, stdout: q.stdout ?? '1', stderr: q.stderr ?? '1' }, signal).catch(() => undefined);
    if (queryBool(q.stream)) b.output(rec.ID).attach(out, { stdout: queryBool(q.stdout ?? '1'), stderr: queryBool(q.stderr ?? '1'), multiplex: false });
    else out.end();
    out.pipe(ws);
    if (queryBool(q.stdin) && rec.Config.OpenStdin) {
      const toProcess = new PassThrough();
      ws.pipe(toProcess);
      wireStdin(b, rec, toProcess);
    } else ws.resume();
    b.attached(rec.ID);
  });

  app.get('/containers/:id/logs', async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Q;
    const rec = b.get((req.params as { id: string }).id);
    const query = parseLogsQuery(q);
    const { driver, stopped, running } = b.logReader(rec.ID);
    if (!driver.readable) throw new NotImplementedError(READING_NOT_SUPPORTED);
    const signal = abortOnClose(req.raw);
    const entries = driver.read({ since: query.since, until: query.until, tail: query.tail, follow: query.follow && running, stdout: query.stdout, stderr: query.stderr, signal, stopped });
    reply.hijack();
    const res = reply.raw;
    // dockerd's logs answer has no Content-Type.
    res.writeHead(200, dockerHeaders());
    res.flushHeaders();
    await writeLogEntries(entries, res, { tty: rec.Config.Tty, timestamps: query.timestamps, details: query.details }, signal).catch(() => undefined);
    res.end();
  });
}
