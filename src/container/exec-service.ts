import { randomBytes } from 'node:crypto';
import { ConflictError, InvalidParameterError, NotFoundError, isDockerError } from '../errors';
import type { EventBus } from '../events/events';
import type { ContainerProcess, ExecDriver } from '../kernel';
import type { ContainerService } from './container-service';
import { processEnv } from './spec';

export interface ExecConfig {
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  DetachKeys: string;
  Tty: boolean;
  Env: string[];
  Cmd: string[];
  Privileged: boolean;
  User: string;
  WorkingDir: string;
}

interface ExecInstance {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  proc?: ContainerProcess;
  /** Output written before the process could start (Docker's runtime error text). */
  startError?: string;
}

/**
 * `docker exec`: exec instances are created against a running container, started once,
 * and kept for inspect until their container is removed.
 */
export class ExecService {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(
    private readonly containers: ContainerService,
    private readonly driver: ExecDriver,
    private readonly events: EventBus,
  ) {}

  idsFor(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.containerId === containerId).map((e) => e.id);
  }

  forget(containerId: string): void {
    for (const [id, e] of this.execs) if (e.containerId === containerId) this.execs.delete(id);
  }

  private get(id: string): ExecInstance {
    const e = this.execs.get(id);
    if (!e) throw new NotFoundError(`No such exec instance: ${id}`);
    return e;
  }

  create(containerRef: string, body: unknown): { Id: string } {
    const rec = this.containers.store.get(containerRef);
    const b = (body ?? {}) as Partial<ExecConfig>;
    if (!Array.isArray(b.Cmd) || b.Cmd.length === 0) throw new InvalidParameterError('No exec command specified');
    if (!rec.State.Running) throw new ConflictError(`Container ${rec.ID} is not running`);
    if (rec.State.Paused) throw new ConflictError(`Container ${rec.ID} is paused, unpause the container before exec`);
    if (rec.State.Restarting) throw new ConflictError(`Container ${rec.ID} is restarting, wait until the container is running`);
    const config: ExecConfig = {
      AttachStdin: Boolean(b.AttachStdin),
      AttachStdout: Boolean(b.AttachStdout),
      AttachStderr: Boolean(b.AttachStderr),
      DetachKeys: b.DetachKeys ?? '',
      Tty: Boolean(b.Tty),
      Env: b.Env ?? [],
      Cmd: b.Cmd,
      Privileged: Boolean(b.Privileged),
      User: b.User ?? '',
      WorkingDir: b.WorkingDir ?? '',
    };
    if (config.WorkingDir && !config.WorkingDir.startsWith('/')) throw new InvalidParameterError(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, { id, containerId: rec.ID, config, running: false, started: false, exitCode: null, pid: 0 });
    this.events.publish('container', `exec_create: ${config.Cmd.join(' ')}`, rec.ID, { execID: id, image: rec.ImageName, name: rec.Name.slice(1) });
    return { Id: id };
  }

  /**
   * Start an exec instance. Resolves with the process (its streams are the caller's to wire),
   * or with `undefined` and `startError` set when the command could not start (Docker then
   * writes the runtime's message to the stream and reports exit code 126).
   */
  async start(id: string): Promise<{ exec: ExecInstance; proc?: ContainerProcess }> {
    const e = this.get(id);
    if (e.started) throw new ConflictError(`Error: Exec command ${id} has already run`);
    const rec = this.containers.store.get(e.containerId);
    if (!rec.State.Running) throw new ConflictError(`Container ${rec.ID} is not running`);
    if (rec.State.Paused) throw new ConflictError(`Container ${rec.ID} is paused, unpause the container before exec`);
    e.started = true;
    const label = `exec_start: ${e.config.Cmd.join(' ')}`;
    this.events.publish('container', label, rec.ID, { execID: id, image: rec.ImageName, name: rec.Name.slice(1) });
    const env = processEnv(rec.Config, e.config.Tty, e.config.Env);
    try {
      const proc = await this.driver.exec(rec.ID, {
        args: e.config.Cmd,
        env,
        cwd: e.config.WorkingDir || rec.Config.WorkingDir || '/',
        user: e.config.User || rec.Config.User,
        tty: e.config.Tty,
        openStdin: e.config.AttachStdin,
      });
      e.running = true;
      e.pid = proc.pid;
      e.proc = proc;
      void proc.exited.then((st) => {
        e.running = false;
        e.exitCode = st.exitCode;
        this.events.publish('container', 'exec_die', rec.ID, { execID: id, exitCode: String(st.exitCode), image: rec.ImageName, name: rec.Name.slice(1) });
      });
      return { exec: e, proc };
    } catch (err) {
      if (!isDockerError(err) || (err.code !== 'NotFound' && err.code !== 'Forbidden')) throw err;
      e.exitCode = 126;
      e.startError = `OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: ${(err as Error).message}: unknown\r\n`;
      this.events.publish('container', 'exec_die', rec.ID, { execID: id, exitCode: '126', image: rec.ImageName, name: rec.Name.slice(1) });
      return { exec: e };
    }
  }

  async resize(id: string, h: number, w: number): Promise<void> {
    const e = this.get(id);
    if (!e.running) throw new ConflictError(`Exec ${id} is not running`);
    await this.driver.resize(e.containerId, w, h, e.pid);
  }

  inspect(id: string): Record<string, unknown> {
    const e = this.get(id);
    const [entrypoint, ...args] = e.config.Cmd;
    return {
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys,
      ExitCode: e.exitCode,
      ID: e.id,
      OpenStderr: e.config.AttachStderr,
      OpenStdin: e.config.AttachStdin,
      OpenStdout: e.config.AttachStdout,
      ProcessConfig: { arguments: args, entrypoint, privileged: e.config.Privileged, tty: e.config.Tty, ...(e.config.User ? { user: e.config.User } : {}) },
      Running: e.running,
      Pid: e.pid,
    };
  }
}
