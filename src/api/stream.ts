import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_VERSION, DAEMON_VERSION } from '../version';
import type { ProgressMessage, ProgressSink } from '../image/progress';
import { toHttpError } from './server-errors';

/** The headers dockerd puts on every reply; hijacked and streamed replies set them by hand. */
export function dockerHeaders(): Record<string, string> {
  return { 'Api-Version': API_VERSION, 'Docker-Experimental': 'false', Ostype: 'linux', Server: `Docker/${DAEMON_VERSION} (linux)` };
}

/**
 * Run `work` and stream its progress as Docker's JSON lines (`\r\n` separated). The status
 * line is sent with the first message, so an error before any output is a normal HTTP error
 * (as dockerd does); an error after it becomes an `errorDetail` message in the stream.
 */
export async function streamProgress(req: FastifyRequest, reply: FastifyReply, work: (sink: ProgressSink, signal: AbortSignal) => Promise<void>): Promise<void> {
  let started = false;
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort(new Error('client went away'));
  });
  const start = () => {
    if (started) return;
    started = true;
    reply.hijack();
    reply.raw.writeHead(200, { ...dockerHeaders(), 'Content-Type': 'application/json' });
  };
  const sink = (m: ProgressMessage) => {
    start();
    if (!reply.raw.destroyed) reply.raw.write(`${JSON.stringify(m)}\r\n`);
  };
  try {
    await work(sink, ac.signal);
  } catch (e) {
    if (!started) throw e;
    const { message } = toHttpError(e);
    req.log.info({ err: e }, `streamed operation failed: ${message}`);
    sink({ errorDetail: { message }, error: message });
  }
  start();
  reply.raw.end();
}
