import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ContainerProcess } from '../../kernel';
import { InvalidParameterError } from '../../errors';
import { muxWriter } from '../../streams/stdcopy';
import { attachHijack, bridgeHijacked, streamContentType } from '../hijack';
import { dockerHeaders } from '../stream';

interface ExecStarted {
  exec: { config: { Tty: boolean; AttachStdin: boolean; AttachStdout: boolean; AttachStderr: boolean }; startError?: string };
  proc?: ContainerProcess;
}

/** What the exec routes need from the exec service. */
export interface ExecBackend {
  create(containerRef: string, body: unknown): { Id: string };
  start(id: string): Promise<ExecStarted>;
  resize(id: string, h: number, w: number): Promise<void>;
  inspect(id: string): Record<string, unknown>;
}

export function registerExecRoutes(app: FastifyInstance, b: ExecBackend): void {
  app.post('/containers/:id/exec', async (req, reply) => reply.code(201).send(b.create((req.params as { id: string }).id, req.body)));

  app.get('/exec/:id/json', async (req) => b.inspect((req.params as { id: string }).id));

  app.post('/exec/:id/resize', async (req: FastifyRequest, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const h = Number(q.h ?? 0);
    const w = Number(q.w ?? 0);
    if (!Number.isInteger(h) || !Number.isInteger(w)) throw new InvalidParameterError('invalid resize parameters: h and w must be integers');
    await b.resize((req.params as { id: string }).id, h, w);
    return reply.code(200).send();
  });

  app.post('/exec/:id/start', async (req: FastifyRequest, reply) => {
    const body = (req.body ?? {}) as { Detach?: boolean; Tty?: boolean };
    const id = (req.params as { id: string }).id;
    const started = await b.start(id);
    const { exec, proc } = started;
    if (body.Detach) {
      proc?.stdout.resume();
      proc?.stderr?.resume();
      return reply.code(200).send();
    }
    const tty = exec.config.Tty;
    const socket = await attachHijack(req, reply, { contentType: streamContentType(req.api.version, tty), extraHeaders: dockerHeaders() });
    const out = new PassThrough();
    if (exec.startError) {
      // dockerd writes the runtime's error on the stream (a stdout frame without a TTY).
      if (tty) out.end(exec.startError);
      else {
        muxWriter(out).stdout.write(exec.startError, () => out.end());
      }
    } else if (proc) {
      const mux = tty ? undefined : muxWriter(out);
      let open = 0;
      const pipeOne = (src: NodeJS.ReadableStream | null, target: NodeJS.WritableStream | undefined, wanted: boolean) => {
        if (!src) return;
        if (!wanted || !target) {
          src.resume();
          return;
        }
        open++;
        src.on('data', (c: Buffer) => target.write(c));
        src.once('end', () => {
          if (--open === 0) out.end();
        });
      };
      pipeOne(proc.stdout, tty ? out : mux!.stdout, exec.config.AttachStdout || tty);
      pipeOne(proc.stderr, mux?.stderr, exec.config.AttachStderr);
      if (open === 0) void proc.exited.then(() => out.end());
    }
    const stdin = exec.config.AttachStdin && proc?.stdin ? proc.stdin : undefined;
    await bridgeHijacked(socket, { stdin: stdin as never, closeStdin: true, output: out });
  });
}
