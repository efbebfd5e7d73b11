import type { Duplex } from 'node:stream';
import type { Applet, AppletContext, HealthStatus } from '../context';
import { errnoText } from '../fs-util';
import { signalNumber } from '../signals';
import { Acceptor, readRequestHead, writeResponse } from './net';

/** Where a scripted image keeps its behaviour. */
export const BEHAVIOUR_PATH = '/.tsdocker/behaviour.json';

/** What each accepted connection gets. */
export type Respond = string | { http: { status?: number; body?: string; headers?: Record<string, string> } };

export type Step =
  | { log: string; stream?: 'stdout' | 'stderr' }
  | { sleep: number | 'forever' }
  | { listen: number; proto?: 'tcp' | 'udp'; respond?: Respond }
  | { health: HealthStatus }
  | { exit: number };

export interface Behaviour {
  steps: Step[];
  /** Status when the steps run out (default 0). */
  exitCode?: number;
  /** Handlers by signal name (`TERM`): steps, then exit with `exitCode` (default 128+n). */
  onSignal?: Record<string, { steps?: Step[]; exitCode?: number }>;
}

class BehaviourError extends Error {}

/** Checks the parsed JSON against the format; the message names the bad field. */
export function parseBehaviour(json: unknown): Behaviour {
  const fail = (msg: string): never => {
    throw new BehaviourError(msg);
  };
  if (typeof json !== 'object' || json === null) fail('behaviour must be an object');
  const b = json as Record<string, unknown>;
  const checkSteps = (steps: unknown, where: string): Step[] => {
    if (!Array.isArray(steps)) return fail(`${where} must be an array`);
    steps.forEach((s: unknown, i) => {
      const step = s as Record<string, unknown>;
      const at = `${where}[${i}]`;
      if (typeof s !== 'object' || s === null) fail(`${at} must be an object`);
      else if ('log' in step) {
        if (typeof step.log !== 'string') fail(`${at}.log must be a string`);
        if (step.stream !== undefined && step.stream !== 'stdout' && step.stream !== 'stderr') fail(`${at}.stream must be "stdout" or "stderr"`);
      } else if ('sleep' in step) {
        if (step.sleep !== 'forever' && (typeof step.sleep !== 'number' || step.sleep < 0)) fail(`${at}.sleep must be milliseconds or "forever"`);
      } else if ('listen' in step) {
        if (typeof step.listen !== 'number' || !Number.isInteger(step.listen) || step.listen < 1 || step.listen > 65535) fail(`${at}.listen must be a port number`);
      } else if ('health' in step) {
        if (!['starting', 'healthy', 'unhealthy'].includes(step.health as string)) fail(`${at}.health must be "starting", "healthy" or "unhealthy"`);
      } else if ('exit' in step) {
        if (typeof step.exit !== 'number' || !Number.isInteger(step.exit)) fail(`${at}.exit must be an integer`);
      } else fail(`${at} has no known action (log, sleep, listen, health, exit)`);
    });
    return steps as Step[];
  };
  const steps = checkSteps(b.steps ?? [], 'steps');
  if (b.exitCode !== undefined && (typeof b.exitCode !== 'number' || !Number.isInteger(b.exitCode))) fail('exitCode must be an integer');
  const onSignal: Behaviour['onSignal'] = {};
  if (b.onSignal !== undefined) {
    if (typeof b.onSignal !== 'object' || b.onSignal === null) fail('onSignal must be an object');
    for (const [name, handler] of Object.entries(b.onSignal as Record<string, Record<string, unknown>>)) {
      if (signalNumber(name) === undefined) fail(`onSignal.${name}: unknown signal`);
      onSignal[name] = { steps: checkSteps(handler.steps ?? [], `onSignal.${name}.steps`), exitCode: handler.exitCode as number | undefined };
    }
  }
  return { steps, exitCode: b.exitCode as number | undefined, onSignal };
}

class ScriptExit {
  constructor(readonly code: number) {}
}

function answer(conn: Duplex, respond: Respond | undefined): void {
  if (respond === undefined) {
    conn.pipe(conn);
    return;
  }
  if (typeof respond === 'string') {
    conn.end(respond);
    return;
  }
  void readRequestHead(conn).then((req) => {
    if (!req) return conn.destroy();
    const status = respond.http.status ?? 200;
    writeResponse(conn, status, status < 400 ? 'OK' : 'Error', respond.http.body ?? '', respond.http.headers);
  });
}

async function runSteps(ctx: AppletContext, steps: Step[], acceptors: Acceptor[]): Promise<void> {
  for (const step of steps) {
    await ctx.proc.checkpoint();
    if ('log' in step) await (step.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(`${step.log}\n`);
    else if ('sleep' in step) await ctx.proc.sleep(step.sleep === 'forever' ? Infinity : step.sleep);
    else if ('listen' in step) {
      const acceptor = await Acceptor.open(ctx, step.listen, step.proto ?? 'tcp');
      if (!acceptor) throw new ScriptExit(1);
      acceptors.push(acceptor);
      void (async () => {
        for (;;) answer(await ctx.proc.guard(acceptor.accept()), step.respond);
      })().catch(() => {});
    } else if ('health' in step) ctx.machine.hooks.health?.(step.health);
    else if ('exit' in step) throw new ScriptExit(step.exit);
  }
}

/**
 * tsdocker-script [FILE]: runs an image's scripted behaviour (default
 * /.tsdocker/behaviour.json): log lines, sleeps, listening ports, health transitions, exit
 * status, and signal handlers. Signals without a handler get Linux's default (and PID 1
 * ignores them).
 */
export const tsdockerScript: Applet = async (ctx) => {
  const file = ctx.argv[1] ?? BEHAVIOUR_PATH;
  let behaviour: Behaviour;
  try {
    behaviour = parseBehaviour(JSON.parse((await ctx.fs.readFile(file)).toString()));
  } catch (err) {
    if (err instanceof BehaviourError || err instanceof SyntaxError) await ctx.error(`${file}: ${err.message}`);
    else await ctx.error(`${file}: ${errnoText(err)}`);
    return 1;
  }
  const handlers = new Map<number, { steps?: Step[]; exitCode?: number }>();
  for (const [name, handler] of Object.entries(behaviour.onSignal ?? {})) {
    const n = signalNumber(name)!;
    handlers.set(n, handler);
    ctx.proc.dispositions.set(n, 'catch');
  }
  const acceptors: Acceptor[] = [];
  const signalled = new Promise<number>((resolve) => {
    const check = (): void => {
      const n = ctx.proc.pendingSignals.shift();
      if (n !== undefined) {
        off();
        resolve(n);
      }
    };
    const off = ctx.proc.subscribe(check);
  });
  const main = runSteps(ctx, behaviour.steps, acceptors).then(() => behaviour.exitCode ?? 0);
  try {
    const winner = await Promise.race([main.then((code) => ({ code })), signalled.then((sig) => ({ sig }))]);
    if ('code' in winner) return winner.code;
    const handler = handlers.get(winner.sig)!;
    await runSteps(ctx, handler.steps ?? [], acceptors);
    return handler.exitCode ?? 128 + winner.sig;
  } catch (err) {
    if (err instanceof ScriptExit) return err.code;
    throw err;
  } finally {
    for (const a of acceptors) a.close();
  }
};
