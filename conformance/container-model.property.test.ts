/**
 * Model-based test of the container lifecycle through the Remote API (fast-check `commands`).
 *
 * The oracle is a table of names → { status, exitCode }, written from Docker's documented
 * state machine, independent of the daemon: each command predicts the HTTP status
 * (201/204/304/400/404/409) and the resulting state, and after every command inspect must
 * agree with the model (Status, Running, Paused, ExitCode, Name). The daemon runs in-process
 * on the fake backend; containers run a shell that exits 0 on TERM, so `stop` is quick.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerClient } from '../src/client/client';
import { startTestDaemon, type DaemonUnderTest } from './harness';

type Status = 'created' | 'running' | 'paused' | 'exited';
interface ModelContainer {
  status: Status;
  exitCode: number;
}
/** The model: containers by name (a name moves on rename). */
interface Model {
  containers: Map<string, ModelContainer>;
}
interface Real {
  client: DockerClient;
  /** The run's name prefix (names are `<prefix>-<slot>`). */
  prefix: string;
}

/** Commands run, checked at the end so that runs are not trivially short. */
let executed = 0;

/** Names come from a small pool so that commands collide (conflicts, 404s) often. */
const SLOTS = ['a', 'b', 'c'];
const COMMAND = ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 0.05; done"];
const RUNS = { numRuns: 25 };

async function call(r: Real, method: string, path: string, query?: Record<string, string | number | boolean>, body?: unknown) {
  const res = await r.client.raw(method, path, { query, body });
  return { status: res.status, text: res.body.toString('utf8') };
}

/** What the daemon must report for a modelled container. */
async function checkAgainstModel(m: Model, r: Real, slot: string): Promise<void> {
  const name = `${r.prefix}-${slot}`;
  const res = await call(r, 'GET', `/containers/${name}/json`);
  const want = m.containers.get(slot);
  if (!want) {
    expect(res.status, `${name} should not exist`).toBe(404);
    return;
  }
  expect(res.status, res.text).toBe(200);
  const c = JSON.parse(res.text) as { Name: string; State: { Status: string; Running: boolean; Paused: boolean; Restarting: boolean; ExitCode: number } };
  expect(c.Name).toBe(`/${name}`);
  expect(c.State).toMatchObject({
    Status: want.status,
    Running: want.status === 'running' || want.status === 'paused',
    Paused: want.status === 'paused',
    Restarting: false,
    ExitCode: want.exitCode,
  });
}

/** One API operation on one name: what the model predicts, then the daemon's answer must match. */
abstract class LifecycleCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly slot: string) {}
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  /** The expected status code, applying the transition to the model. */
  protected abstract predict(m: Model): number;
  protected abstract send(r: Real, name: string): Promise<{ status: number; text: string }>;
  async run(m: Model, r: Real): Promise<void> {
    executed++;
    const expected = this.predict(m);
    const res = await this.send(r, `${r.prefix}-${this.slot}`);
    expect(res.status, `${this.toString()}: ${res.text}`).toBe(expected);
    for (const s of SLOTS) await checkAgainstModel(m, r, s);
  }
  abstract toString(): string;
}

class Create extends LifecycleCommand {
  protected predict(m: Model): number {
    if (m.containers.has(this.slot)) return 409;
    m.containers.set(this.slot, { status: 'created', exitCode: 0 });
    return 201;
  }
  protected send(r: Real, name: string) {
    return call(r, 'POST', '/containers/create', { name }, { Image: 'busybox', Cmd: COMMAND, HostConfig: { NetworkMode: 'none' } });
  }
  toString() {
    return `create(${this.slot})`;
  }
}

class Start extends LifecycleCommand {
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    if (c.status === 'running') return 304;
    if (c.status === 'paused') return 409;
    Object.assign(c, { status: 'running', exitCode: 0 });
    return 204;
  }
  protected send(r: Real, name: string) {
    return call(r, 'POST', `/containers/${name}/start`);
  }
  toString() {
    return `start(${this.slot})`;
  }
}

class Stop extends LifecycleCommand {
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    if (c.status === 'created' || c.status === 'exited') return 304;
    Object.assign(c, { status: 'exited', exitCode: 0 });
    return 204;
  }
  protected send(r: Real, name: string) {
    return call(r, 'POST', `/containers/${name}/stop`, { t: 10 });
  }
  toString() {
    return `stop(${this.slot})`;
  }
}

class Kill extends LifecycleCommand {
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    if (c.status !== 'running' && c.status !== 'paused') return 409;
    Object.assign(c, { status: 'exited', exitCode: 137 });
    return 204;
  }
  protected send(r: Real, name: string) {
    return call(r, 'POST', `/containers/${name}/kill`);
  }
  toString() {
    return `kill(${this.slot})`;
  }
}

class Pause extends LifecycleCommand {
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    if (c.status !== 'running') return 409;
    c.status = 'paused';
    return 204;
  }
  protected send(r: Real, name: string) {
    return call(r, 'POST', `/containers/${name}/pause`);
  }
  toString() {
    return `pause(${this.slot})`;
  }
}

class Unpause extends LifecycleCommand {
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    if (c.status !== 'paused') return 409;
    c.status = 'running';
    return 204;
  }
  protected send(r: Real, name: string) {
    return call(r, 'POST', `/containers/${name}/unpause`);
  }
  toString() {
    return `unpause(${this.slot})`;
  }
}

class Restart extends LifecycleCommand {
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    Object.assign(c, { status: 'running', exitCode: 0 });
    return 204;
  }
  protected send(r: Real, name: string) {
    return call(r, 'POST', `/containers/${name}/restart`, { t: 10 });
  }
  toString() {
    return `restart(${this.slot})`;
  }
}

class Rename extends LifecycleCommand {
  constructor(
    slot: string,
    readonly to: string,
  ) {
    super(slot);
  }
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    if (this.to === this.slot) return 400;
    if (m.containers.has(this.to)) return 409;
    m.containers.delete(this.slot);
    m.containers.set(this.to, c);
    return 204;
  }
  protected send(r: Real, name: string) {
    return call(r, 'POST', `/containers/${name}/rename`, { name: `${r.prefix}-${this.to}` });
  }
  toString() {
    return `rename(${this.slot} → ${this.to})`;
  }
}

class Remove extends LifecycleCommand {
  constructor(
    slot: string,
    readonly force: boolean,
  ) {
    super(slot);
  }
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    if ((c.status === 'running' || c.status === 'paused') && !this.force) return 409;
    m.containers.delete(this.slot);
    return 204;
  }
  protected send(r: Real, name: string) {
    return call(r, 'DELETE', `/containers/${name}`, { force: this.force });
  }
  toString() {
    return `remove(${this.slot}${this.force ? ', force' : ''})`;
  }
}

/** `wait` (not-running) answers at once with the last exit code for a container that is not running. */
class Wait extends LifecycleCommand {
  override check(m: Readonly<Model>): boolean {
    const c = m.containers.get(this.slot);
    return !c || c.status === 'created' || c.status === 'exited';
  }
  private expectedCode = 0;
  protected predict(m: Model): number {
    const c = m.containers.get(this.slot);
    if (!c) return 404;
    this.expectedCode = c.exitCode;
    return 200;
  }
  protected async send(r: Real, name: string) {
    const res = await call(r, 'POST', `/containers/${name}/wait`, { condition: 'not-running' });
    if (res.status === 200) expect(JSON.parse(res.text)).toEqual({ Error: null, StatusCode: this.expectedCode });
    return res;
  }
  toString() {
    return `wait(${this.slot})`;
  }
}

const slot = fc.constantFrom(...SLOTS);
const commands = [
  slot.map((s) => new Create(s)),
  slot.map((s) => new Create(s)),
  slot.map((s) => new Start(s)),
  slot.map((s) => new Stop(s)),
  slot.map((s) => new Kill(s)),
  slot.map((s) => new Pause(s)),
  slot.map((s) => new Unpause(s)),
  slot.map((s) => new Restart(s)),
  fc.tuple(slot, slot).map(([s, t]) => new Rename(s, t)),
  fc.tuple(slot, fc.boolean()).map(([s, f]) => new Remove(s, f)),
  slot.map((s) => new Wait(s)),
];

describe('container lifecycle against a state model (fake backend)', () => {
  let dut: DaemonUnderTest & { stop(): Promise<void> };
  let run = 0;
  const prefixes: string[] = [];

  beforeAll(async () => {
    dut = await startTestDaemon('fake', (await import('../fakes')).createFakeKernel);
    const pull = await dut.client.raw('POST', '/images/create', { query: { fromImage: 'busybox', tag: 'latest' } });
    if (pull.status !== 200 || pull.body.toString().includes('"error"')) throw new Error(`pull busybox failed: ${pull.body.toString()}`);
  });
  afterAll(async () => {
    await dut?.stop();
  });

  /** Force-remove what a run left (its containers, whatever state the model thought). */
  const cleanup = async (prefix: string) => {
    for (const s of SLOTS) await dut.client.raw('DELETE', `/containers/${prefix}-${s}`, { query: { force: true } });
  };

  it('every command answers the status the model predicts and leaves the state it predicts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30, size: 'medium' }), async (cmds) => {
        const prefix = `model${run++}`;
        prefixes.push(prefix);
        try {
          await fc.asyncModelRun(() => ({ model: { containers: new Map() }, real: { client: dut.client, prefix } }), cmds);
        } finally {
          await cleanup(prefix);
        }
      }),
      RUNS,
    );
    const left = await dut.client.json<unknown[]>('GET', '/containers/json', { query: { all: true } });
    expect(left).toEqual([]);
    // Runs are not trivially short (fast-check's `medium` size): several commands each on average.
    expect(executed).toBeGreaterThan(run * 5);
  });
});
