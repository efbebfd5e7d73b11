/**
 * Fault injection and clock control for client-tooling authors, served only when the daemon
 * runs an emulated kernel (the fake backend): see docs/tooling-authors.md.
 *
 * A rule names an operation, either as `METHOD /route/{param}` (the API route, without the
 * version prefix; `*` for any method) or as an engine job name (`containers.start`), and a
 * kind:
 * - `error`: answer `status` with `{"message": message}` instead of doing the work;
 * - `delay-headers`: wait `ms` before doing the work (so before the status line);
 * - `drop`: close the connection without answering;
 * - `drop-hijack`: let a hijacked connection (attach, exec start) carry `bytes` bytes to the
 *   client after its status line, then close it. The hijack code calls `onHijack`.
 * `times` limits how often a rule fires (unlimited when absent); a used-up rule is removed.
 * Route rules fire in a fastify onRequest hook, job rules in `Engine.beforeJob`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Engine } from '../engine/engine';
import {
  ConflictError,
  ForbiddenError,
  InvalidParameterError,
  NotFoundError,
  NotImplementedError,
  SystemError,
  UnauthorizedError,
  UnavailableError,
} from '../errors';
import type { ClockControl } from '../kernel';
import { abortOnClose } from './routes/system';

export const FAULT_KINDS = ['error', 'delay-headers', 'drop', 'drop-hijack'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A rule as the control API shows it. */
export interface FaultRule {
  id: string;
  operation: string;
  kind: FaultKind;
  status?: number;
  message?: string;
  ms?: number;
  bytes?: number;
  /** How many more times it fires; null: every time. */
  times: number | null;
  /** How many times it has fired. */
  hits: number;
}

type Target = { route: { method: string; url: string } } | { job: string };

interface Compiled {
  rule: FaultRule;
  route?: { method: string; url: string };
  job?: string;
}

const JOB_NAME = /^[a-z][\w-]*(\.[\w-]+)+$/;

/** `/v1.41/containers/{id}/start` → `/containers/:id/start` (fastify's pattern). */
function routePattern(path: string): string {
  const url = path.replace(/^\/v\d+(\.\d+)?(?=\/)/, '').replace(/\{([^}/]+)\}/g, ':$1').replace(/\/+$/, '');
  return url === '' ? '/' : url;
}

function nonNegativeInt(body: Record<string, unknown>, field: string, required: boolean): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw new InvalidParameterError(`fault rule: "${field}" is required for kind "${String(body.kind)}"`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidParameterError(`fault rule: "${field}" must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Check a rule from the control API; InvalidParameterError names the bad field. */
export function parseFaultRule(input: unknown, id: string): Compiled {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InvalidParameterError('fault rule: the body must be a JSON object');
  const body = input as Record<string, unknown>;
  const known = new Set(['operation', 'kind', 'status', 'message', 'ms', 'bytes', 'times']);
  for (const k of Object.keys(body)) if (!known.has(k)) throw new InvalidParameterError(`fault rule: unknown field "${k}"`);
  const { operation, kind } = body;
  if (typeof operation !== 'string' || operation.trim() === '') throw new InvalidParameterError('fault rule: "operation" must be "METHOD /path/{param}" or a job name such as "containers.start"');
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) throw new InvalidParameterError(`fault rule: "kind" must be one of ${FAULT_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  const rule: FaultRule = { id, operation: operation.trim(), kind: kind as FaultKind, times: nonNegativeInt(body, 'times', false) ?? null, hits: 0 };
  if (rule.times === 0) throw new InvalidParameterError('fault rule: "times" must be at least 1 (leave it out for every time)');
  if (rule.kind === 'error') {
    const status = nonNegativeInt(body, 'status', false) ?? 500;
    if (status < 400 || status > 599) throw new InvalidParameterError(`fault rule: "status" must be an HTTP error status (400-599), got ${status}`);
    if (body.message !== undefined && typeof body.message !== 'string') throw new InvalidParameterError('fault rule: "message" must be a string');
    rule.status = status;
    rule.message = (body.message as string | undefined) ?? 'injected fault';
  }
  if (rule.kind === 'delay-headers') rule.ms = nonNegativeInt(body, 'ms', true);
  if (rule.kind === 'drop-hijack') rule.bytes = nonNegativeInt(body, 'bytes', false) ?? 0;

  const m = /^([A-Za-z]+|\*)\s+(\/\S*)$/.exec(rule.operation);
  if (m) return { rule, route: { method: m[1]!.toUpperCase(), url: routePattern(m[2]!) } };
  if (JOB_NAME.test(rule.operation)) return { rule, job: rule.operation };
  throw new InvalidParameterError(`fault rule: "operation" must be "METHOD /path/{param}" or a job name such as "containers.start", got ${JSON.stringify(rule.operation)}`);
}

/** The catalogue error for an injected status (other statuses keep theirs through `statusCode`). */
function injectedError(status: number, message: string): Error {
  const byStatus: Record<number, new (m: string) => Error> = {
    400: InvalidParameterError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    500: SystemError,
    501: NotImplementedError,
    503: UnavailableError,
  };
  const Cls = byStatus[status];
  if (Cls) return new Cls(message);
  return Object.assign(new Error(message), { statusCode: status });
}

/** The rules of one daemon. */
export class FaultInjector {
  private rules: Compiled[] = [];
  private seq = 0;

  add(input: unknown): FaultRule {
    const c = parseFaultRule(input, String(++this.seq));
    this.rules.push(c);
    return { ...c.rule };
  }

  list(): FaultRule[] {
    return this.rules.map((c) => ({ ...c.rule }));
  }

  remove(id: string): void {
    const before = this.rules.length;
    this.rules = this.rules.filter((c) => c.rule.id !== id);
    if (this.rules.length === before) throw new NotFoundError(`No such fault rule: ${id}`);
  }

  clear(): void {
    this.rules = [];
  }

  /** The first rule for `target`, counted as fired (and removed when used up). */
  take(target: Target): FaultRule | undefined {
    const c = this.rules.find((r) =>
      'job' in target ? r.job === target.job : r.route !== undefined && r.route.url === target.route.url && (r.route.method === '*' || r.route.method === target.route.method),
    );
    if (!c) return undefined;
    c.rule.hits++;
    if (c.rule.times !== null && --c.rule.times === 0) this.rules = this.rules.filter((r) => r !== c);
    return { ...c.rule };
  }
}

/** Requests whose hijacked connection is to be cut, with the number of bytes to let through. */
const HIJACK_CUTS = new WeakMap<IncomingMessage, number>();

/**
 * Called by the hijack code (src/api/hijack.ts) right after it has written the status line of
 * a hijacked reply: when a `drop-hijack` rule fired for this request, the connection is
 * closed once `bytes` more bytes have been written to the client. A no-op otherwise (and
 * always on a daemon without the control API).
 */
export function onHijack(req: FastifyRequest | IncomingMessage, socket: Duplex): void {
  const raw = 'raw' in req ? req.raw : req;
  const limit = HIJACK_CUTS.get(raw);
  if (limit === undefined) return;
  HIJACK_CUTS.delete(raw);
  let sent = 0;
  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const cut = () => socket.destroy();
  // With nothing to let through, close even a stream that stays silent.
  if (limit === 0) setImmediate(cut);
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (sent >= limit) {
      cut();
      return false;
    }
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
    const room = limit - sent;
    if (buf.length < room) {
      sent += buf.length;
      return write(buf, ...rest.filter((r) => typeof r === 'function'));
    }
    sent = limit;
    write(buf.subarray(0, room), cut);
    return false;
  }) as typeof socket.write;
}

export interface EmulatorControlOptions {
  faults: FaultInjector;
  clock?: ClockControl;
}

const CONTROL_PREFIX = '/_emulator/';

/**
 * Install the control API (`/_emulator/faults`, `/_emulator/clock`) and the hooks that apply
 * the rules. Only for an emulated kernel: without this call those paths are Docker's
 * `page not found`.
 */
export function registerEmulatorControl(app: FastifyInstance, engine: Engine, opts: EmulatorControlOptions): void {
  const { faults, clock } = opts;
  /** Each request's abort signal (what routes hand to engine.run) → the request, for job rules. */
  const requestOf = new WeakMap<AbortSignal, IncomingMessage>();

  const apply = async (rule: FaultRule, raw: IncomingMessage | undefined): Promise<'dropped' | void> => {
    if (rule.kind === 'delay-headers') await sleep(rule.ms ?? 0);
    else if (rule.kind === 'drop-hijack') {
      if (raw) HIJACK_CUTS.set(raw, rule.bytes ?? 0);
    } else if (rule.kind === 'drop') {
      raw?.socket.destroy();
      return 'dropped';
    } else throw injectedError(rule.status ?? 500, rule.message ?? 'injected fault');
  };

  app.addHook('onRequest', async (req, reply) => {
    const url = req.routeOptions.url;
    requestOf.set(abortOnClose(req.raw), req.raw);
    if (!url || url.startsWith(CONTROL_PREFIX)) return;
    const rule = faults.take({ route: { method: req.method, url } });
    if (!rule) return;
    req.log.info({ rule }, `injected fault ${rule.kind} on ${req.method} ${url}`);
    if (rule.kind === 'error') return reply.code(rule.status ?? 500).type('application/json').send({ message: rule.message });
    if ((await apply(rule, req.raw)) === 'dropped') {
      reply.hijack();
      return reply;
    }
  });

  engine.beforeJob = async (name, signal) => {
    const rule = faults.take({ job: name });
    if (!rule) return;
    const raw = signal ? requestOf.get(signal) : undefined;
    if ((await apply(rule, raw)) === 'dropped') throw new UnavailableError(`injected fault: connection dropped before ${name}`);
  };

  app.post('/_emulator/faults', async (req, reply) => reply.code(201).send(faults.add(req.body)));
  app.get('/_emulator/faults', async () => faults.list());
  app.delete('/_emulator/faults', async (_req, reply) => {
    faults.clear();
    return reply.code(204).send();
  });
  app.delete('/_emulator/faults/:id', async (req, reply) => {
    faults.remove((req.params as { id: string }).id);
    return reply.code(204).send();
  });

  if (!clock) return;
  const clockState = () => ({ mode: clock.mode(), now: new Date(clock.now()).toISOString(), pending: clock.pending() });
  app.get('/_emulator/clock', async () => clockState());
  app.post('/_emulator/clock', async (req) => {
    const mode = (req.body as { mode?: unknown } | undefined)?.mode;
    if (mode !== 'real' && mode !== 'virtual') throw new InvalidParameterError(`clock: "mode" must be "real" or "virtual", got ${JSON.stringify(mode)}`);
    clock.setMode(mode);
    return clockState();
  });
  app.post('/_emulator/clock/advance', async (req) => {
    const ms = (req.body as { ms?: unknown } | undefined)?.ms;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new InvalidParameterError(`clock: "ms" must be a non-negative number of milliseconds, got ${JSON.stringify(ms)}`);
    await clock.advance(ms);
    return clockState();
  });
}
