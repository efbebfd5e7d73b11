import { execFile } from 'node:child_process';
import { rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, DockerError, ForbiddenError, InvalidParameterError, NotFoundError, SystemError } from '../../../src/errors';
import type { CgroupLayout } from './cgroups';
import type { OciResources } from './oci-spec';

export type RuntimeName = 'runc' | 'crun';

export interface RuntimeState {
  id: string;
  pid: number;
  status: 'created' | 'running' | 'paused' | 'stopped' | string;
  bundle: string;
}

/**
 * One OCI runtime binary (runc or crun) with its own state root under the exec root, so its
 * `list` shows only this daemon's containers. On a hybrid cgroup host crun refuses to run while
 * the cgroup2 mount holds controllers ("cgroups in hybrid mode not supported, drop all
 * controllers from cgroupv2"): every crun call then goes through a small wrapper script that
 * unmounts the cgroup2 mount in a private mount namespace (`unshare -m`) and execs crun, so crun
 * sees a pure v1 host. The container's own namespaces are created by crun as usual.
 */
export class OciRuntime {
  private constructor(
    readonly name: RuntimeName,
    /** What to exec (crun's wrapper on hybrid hosts) — also given to conmon as `-r` for execs. */
    readonly path: string,
    readonly root: string,
    /**
     * conmon's `-r` for a container's first process: a wrapper that turns conmon's
     * `<runtime> <global options> create ...` into `run --detach ...`, so that one runtime process
     * creates and starts the container (a separate `start` costs another runtime process, ~7 ms
     * with runc). conmon still holds the stdio, becomes the parent (it is a subreaper) and
     * records the exit, also of a process that ends before the runtime returns.
     */
    readonly runPath: string,
  ) {}

  static async create(name: RuntimeName, execRoot: string, layout: CgroupLayout): Promise<OciRuntime> {
    const root = join(execRoot, `runtime-${name}`);
    await mkdir(root, { recursive: true, mode: 0o700 });
    const binary = await findBinary(name);
    let path = binary;
    let runPath = join(execRoot, `${name}-run`);
    const script = async (file: string, text: string) => {
      await writeFile(file, text, { mode: 0o755 });
      await chmod(file, 0o755);
    };
    if (name === 'crun' && layout.mode === 'hybrid' && layout.unified) {
      path = join(execRoot, 'crun-v1');
      const perl = hybridPerlWrapper(binary, layout.unified);
      if (perl) {
        // One perl process makes the private mount namespace itself (no unshare/sh/umount chain).
        await script(path, perl(false));
        await script(runPath, perl(true));
        return new OciRuntime(name, path, root, runPath);
      }
      await script(path, `#!/bin/sh\n# crun on a hybrid cgroup host: hide the cgroup2 mount (see backends/linux/exec/runtime.ts)\nexec unshare -m /bin/sh -c 'umount -l "$0" && exec "$@"' '${layout.unified}' '${binary}' "$@"\n`);
    }
    await script(runPath, runWrapper(path));
    return new OciRuntime(name, path, root, runPath);
  }

  /** The global arguments conmon passes before the runtime command. */
  get globalArgs(): string[] {
    return ['--root', this.root];
  }

  run(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.path, [...this.globalArgs, ...args], { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(runtimeError(`${this.name} ${args[0]}`, String(stderr) || err.message));
        else resolve({ stdout: String(stdout), stderr: String(stderr) });
      });
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    try {
      return JSON.parse((await this.run(['state', id])).stdout) as RuntimeState;
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof ConflictError) return undefined;
      throw e;
    }
  }

  /**
   * The runtime's containers. Asked again after a failure: runc's `list` fails when a container's
   * state directory goes between its readdir and its stat (a container removed meanwhile).
   */
  async list(): Promise<RuntimeState[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = (await this.run(['list', '--format', 'json'])).stdout.trim();
        return out && out !== 'null' ? (JSON.parse(out) as RuntimeState[]) : [];
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  }

  async kill(id: string, signal: string): Promise<void> {
    await this.run(['kill', id, signal]);
  }

  /** Signal every process of the container (used by a forced delete of a running container). */
  async killAll(id: string, signal: string): Promise<void> {
    await this.run(['kill', '--all', id, signal]).catch(() => undefined);
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  /** Delete the container's runtime state and cgroup; a missing container is not an error. */
  async delete(id: string): Promise<void> {
    // Both runc and crun keep a directory per container under --root: without one there is
    // nothing to delete, and a runtime process (~10 ms) is saved on every start and remove.
    if (!(await stat(join(this.root, id)).then(() => true, () => false))) return;
    try {
      await this.run(['delete', '--force', id]);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  /**
   * What `delete` does for a container whose processes have all ended (its first process had a
   * pid namespace of its own, so the kernel ended the others with it): drop the runtime's state
   * directory. The caller removes the cgroup directories. Saves a runtime process per container.
   */
  async forgetStopped(id: string): Promise<void> {
    // runc leaves state.json there (crun a few files): unlinked by name, two calls instead of a
    // recursive walk; anything else falls back to it.
    const dir = join(this.root, id);
    try {
      unlinkSync(join(dir, 'state.json'));
      rmdirSync(dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async update(id: string, resources: OciResources, bundle: string): Promise<void> {
    const file = join(bundle, 'update.json');
    await writeFile(file, JSON.stringify(resources));
    await this.run(['update', '--resources', file, id]);
  }

  /** Host pids of the container's processes. */
  async ps(id: string): Promise<number[]> {
    const out = (await this.run(['ps', '--format', 'json', id])).stdout.trim();
    return out && out !== 'null' ? (JSON.parse(out) as number[]) : [];
  }
}

/** The script behind `runPath` (POSIX sh: the first `create` argument becomes `run --detach`). */
export function runWrapper(runtime: string): string {
  const quoted = `'${runtime.replace(/'/g, `'\\''`)}'`;
  return [
    '#!/bin/sh',
    '# conmon runs "<runtime> <global options> create ..."; tsdocker starts the container in the same',
    '# runtime process: "run --detach" (see backends/linux/exec/runtime.ts).',
    'seen=',
    'for a do',
    '  shift',
    '  if [ -z "$seen" ] && [ "$a" = create ]; then seen=1; set -- "$@" run --detach; else set -- "$@" "$a"; fi',
    'done',
    `exec ${quoted} "$@"`,
    '',
  ].join('\n');
}

/** unshare, mount, umount2 by architecture, for the perl wrapper. */
const HYBRID_SYSCALLS: Partial<Record<string, [number, number, number]>> = { x64: [272, 165, 166], arm64: [97, 40, 39] };

/**
 * crun's wrapper on a hybrid host as one perl script (perl-base is in every Debian): a mount
 * namespace of its own (unshare(CLONE_NEWNS), / made rprivate as unshare(1) does), the cgroup2
 * mount detached there, then crun exec'd; with `run`, the first `create` becomes
 * `run --detach` as in `runWrapper`. Undefined where the syscall numbers are not known.
 */
export function hybridPerlWrapper(crun: string, unified: string, arch = process.arch): ((run: boolean) => string) | undefined {
  const nr = HYBRID_SYSCALLS[arch];
  if (!nr) return undefined;
  const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return (run) =>
    [
      '#!/usr/bin/perl',
      '# crun on a hybrid cgroup host: hide the cgroup2 mount (see backends/linux/exec/runtime.ts)',
      'use strict; use warnings;',
      `my ($unshare, $mount, $umount2) = (${nr.join(', ')});`,
      `my ($crun, $unified, $none, $root) = (${q(crun)}, ${q(unified)}, 'none', '/');`,
      'syscall($unshare, 0x20000) == 0 or die "unshare(CLONE_NEWNS): $!\\n";',
      'syscall($mount, $none, $root, 0, 0x44000, 0) == 0 or die "mount --make-rprivate /: $!\\n";',
      'syscall($umount2, $unified, 2) == 0 or die "umount -l $unified: $!\\n";',
      ...(run ? ['my $seen = 0;', "@ARGV = map { !$seen && $_ eq 'create' ? ($seen = 1, 'run', '--detach')[1, 2] : $_ } @ARGV;"] : []),
      'exec { $crun } $crun, @ARGV or die "exec $crun: $!\\n";',
      '',
    ].join('\n');
}

async function findBinary(name: string): Promise<string> {
  const { which } = await import('../host-info');
  const p = await which(name);
  if (!p) throw new SystemError(`the OCI runtime ${name} is not installed`);
  return p;
}

/** The `msg` of runc/crun error output (JSON log lines or logrus text), else the text itself. */
export function runtimeMessage(output: string): string {
  const msgs: string[] = [];
  for (const line of output.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    try {
      const j = JSON.parse(t) as { msg?: string; level?: string };
      if (j.msg && (j.level === undefined || j.level === 'error' || j.level === 'fatal')) msgs.push(j.msg);
      continue;
    } catch {
      /* not JSON */
    }
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(t);
    msgs.push(m ? m[1]!.replace(/\\(.)/g, '$1') : t);
  }
  return msgs.join('; ') || output.trim();
}

/**
 * Map a runtime failure to the error catalogue: a missing command is NotFound and a
 * non-executable one Forbidden, with Docker's `exec: "x": ...` wording (the engine turns them
 * into exit codes 127 and 126); an unknown or stopped container is NotFound / Conflict.
 */
export function runtimeError(what: string, output: string): DockerError {
  const msg = runtimeMessage(output);
  const execMsg = /exec: "[^"]*": [^;]*/.exec(msg)?.[0];
  if (/executable file not found|no such file or directory/i.test(msg) && /exec|executable/i.test(msg)) {
    return new NotFoundError(execMsg ?? crunExecMessage(msg, 'executable file not found in $PATH'));
  }
  if (/permission denied/i.test(msg) && /exec/i.test(msg)) return new ForbiddenError(execMsg ?? crunExecMessage(msg, 'permission denied'));
  if (/does not exist|not found|no such container/i.test(msg)) return new NotFoundError(`${what}: ${msg}`);
  if (/not running|container not running|is not paused|is paused|stopped/i.test(msg)) return new ConflictError(`${what}: ${msg}`);
  if (/invalid|unknown/i.test(msg)) return new InvalidParameterError(`${what}: ${msg}`);
  return new SystemError(`${what}: ${msg}`);
}

/** crun words it "executable file `x` not found in $PATH": rebuild Docker's message. */
function crunExecMessage(msg: string, reason: string): string {
  const name = /`([^`]+)`/.exec(msg)?.[1] ?? /exec(?:ve)?\s+`?([^`:\s]+)/.exec(msg)?.[1] ?? '?';
  return `exec: "${name}": ${reason}`;
}
