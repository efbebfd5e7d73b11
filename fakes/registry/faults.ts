import { setTimeout as sleep } from 'node:timers/promises';
import { registryError } from './errors';
import type { RegistryResponder } from './handlers';
import { classifyRequest, type RegistryOperation } from './routes';

/**
 * A fault the registry injects instead of (or into) its normal answer:
 * - `unauthorized`: 401 UNAUTHORIZED with the registry's `WWW-Authenticate` challenge;
 * - `rate-limit`: 429 TOOMANYREQUESTS with `Retry-After: <seconds>` (default 1);
 * - `error`: any status and registry error code (a 500, a 503 ...);
 * - `truncate`: the normal answer, but the body fails after `bytes` bytes (default half),
 *   as when the connection drops mid-download; in server mode the socket is destroyed;
 * - `wrong-digest`: the normal answer with different bytes (binary bodies: the last byte
 *   flipped, same length; JSON bodies: a newline appended, so they still parse), so the
 *   body no longer matches `Docker-Content-Digest` or the requested digest;
 * - `delay`: waits `ms` before the answer's headers.
 */
export type Fault =
  | { kind: 'unauthorized' }
  | { kind: 'rate-limit'; retryAfterSeconds?: number }
  | { kind: 'error'; status: number; code?: 'UNSUPPORTED' | 'TOOMANYREQUESTS' | 'DENIED' | 'UNAUTHORIZED'; message?: string }
  | { kind: 'truncate'; bytes?: number }
  | { kind: 'wrong-digest' }
  | { kind: 'delay'; ms: number };

/** Which requests a fault applies to; every given criterion must match. */
export interface FaultMatch {
  /** One operation or several (see routes.ts). */
  operation?: RegistryOperation | RegistryOperation[];
  /** The repository name, exactly (`library/busybox`). */
  repository?: string;
  /** Tested against the URL path: a substring, or a RegExp. */
  path?: string | RegExp;
  /** HTTP method, case-insensitive. */
  method?: string;
}

export interface FaultRule extends FaultMatch {
  fault: Fault;
  /** How many matching requests it applies to; default: every one, until removed. */
  times?: number;
}

/** A handle on an injected rule. */
export interface InjectedFault {
  /** How many requests the fault has been applied to. */
  readonly hits: number;
  /** Applications left (Infinity for an unlimited rule). */
  readonly remaining: number;
  remove(): void;
}

/** Produces the 401 challenge an `unauthorized` fault answers with. */
export type ChallengeFactory = (request: Request) => Response;

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
  hits: number;
}

/**
 * The registry's fault injector. Rules are checked in the order they were injected; the
 * first matching one applies (one fault per request) and uses up one of its `times`.
 */
export class RegistryFaults {
  private rules: ActiveRule[] = [];

  constructor(private readonly challenge: ChallengeFactory) {}

  inject(rule: FaultRule): InjectedFault {
    if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times > 0)) {
      throw new RangeError(`fault rule: times must be a positive integer, got ${rule.times}`);
    }
    const active: ActiveRule = { rule, remaining: rule.times ?? Infinity, hits: 0 };
    this.rules.push(active);
    const remove = (): void => {
      this.rules = this.rules.filter((r) => r !== active);
    };
    return {
      get hits() {
        return active.hits;
      },
      get remaining() {
        return active.remaining;
      },
      remove,
    };
  }

  /** Removes every rule. */
  clear(): void {
    this.rules = [];
  }

  /** `answer` with the faults applied: what both the in-process fetch and the server use. */
  wrap(answer: RegistryResponder): RegistryResponder {
    return async (request) => {
      const fault = this.take(request);
      if (!fault) return answer(request);
      switch (fault.kind) {
        case 'unauthorized':
          return withApiVersion(this.challenge(request));
        case 'rate-limit':
          return withApiVersion(
            registryError(429, 'TOOMANYREQUESTS', { headers: { 'Retry-After': String(fault.retryAfterSeconds ?? 1) } }),
          );
        case 'error':
          return withApiVersion(registryError(fault.status, fault.code ?? 'UNSUPPORTED', { message: fault.message }));
        case 'delay':
          await sleep(fault.ms);
          return answer(request);
        case 'truncate':
          return truncate(await answer(request), fault.bytes);
        case 'wrong-digest':
          return corrupt(await answer(request));
      }
    };
  }

  private take(request: Request): Fault | undefined {
    const classified = classifyRequest(request);
    const pathname = new URL(request.url).pathname;
    const active = this.rules.find(({ rule }) => matches(rule, request.method, pathname, classified));
    if (!active) return undefined;
    active.hits += 1;
    active.remaining -= 1;
    if (active.remaining <= 0) this.rules = this.rules.filter((r) => r !== active);
    return active.rule.fault;
  }
}

function matches(
  rule: FaultMatch,
  method: string,
  pathname: string,
  classified: ReturnType<typeof classifyRequest>,
): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.operation) {
    const operations = Array.isArray(rule.operation) ? rule.operation : [rule.operation];
    if (!classified || !operations.includes(classified.operation)) return false;
  }
  if (rule.repository !== undefined && classified?.repository !== rule.repository) return false;
  if (rule.path !== undefined) {
    if (typeof rule.path === 'string' ? !pathname.includes(rule.path) : !rule.path.test(pathname)) return false;
  }
  return true;
}

function withApiVersion(response: Response): Response {
  response.headers.set('Docker-Distribution-API-Version', 'registry/2.0');
  return response;
}

/** The same response whose body errors after `limit` bytes (default: half of it). */
async function truncate(response: Response, limit: number | undefined): Promise<Response> {
  if (!response.body) return response;
  const bytes = new Uint8Array(await response.arrayBuffer());
  const kept = bytes.subarray(0, Math.min(limit ?? Math.floor(bytes.byteLength / 2), bytes.byteLength));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (kept.byteLength > 0) controller.enqueue(kept);
    },
    pull(controller) {
      controller.error(new Error(`emulated registry fault: connection dropped after ${kept.byteLength} of ${bytes.byteLength} bytes`));
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** The same response with different bytes (see `wrong-digest`); the headers are kept. */
async function corrupt(response: Response): Promise<Response> {
  if (!response.body) return response;
  const bytes = new Uint8Array(await response.arrayBuffer());
  const isJson = /json/.test(response.headers.get('content-type') ?? '');
  let altered: Uint8Array;
  if (isJson) {
    altered = Buffer.concat([bytes, Buffer.from('\n')]);
  } else {
    altered = Uint8Array.from(bytes);
    const last = altered.byteLength - 1;
    if (last >= 0) altered[last] = (altered[last] ?? 0) ^ 0xff;
  }
  const headers = new Headers(response.headers);
  headers.set('Content-Length', String(altered.byteLength));
  return new Response(altered, { status: response.status, statusText: response.statusText, headers });
}
