import { AppletContext, type Machine } from './context';
import { ProcessEnded, type Proc, type Stdio } from './process';
import { resolveCommand, resolutionExitCode, type Resolution } from './resolve';

/** Resolves `argv[0]` as `proc` would: its PATH and working directory. */
export function resolveFor(machine: Machine, proc: Proc, argv: string[], mode: 'shell' | 'exec', env = proc.env): Promise<Resolution> {
  return resolveCommand(argv, { fs: machine.fs, env, cwd: proc.cwd, mode, isApplet: (n) => machine.applets.has(n) });
}

/**
 * Runs a resolved program in `proc`, replacing what it ran (execve): `ps` shows the new
 * argv. Resolves with the applet's exit status.
 */
export async function execResolved(machine: Machine, proc: Proc, res: Extract<Resolution, { kind: 'applet' }>, stdio: Stdio): Promise<number> {
  proc.argv = res.argv;
  const ctx: AppletContext = new AppletContext(machine, proc, res.argv, stdio, (argv, childStdio, env): Promise<number> => runChild(machine, proc, argv, childStdio, env, ctx));
  const applet = machine.applets.get(res.applet);
  if (!applet) {
    await ctx.stderr.write(`${res.applet}: applet not found\n`);
    return 127;
  }
  return applet(ctx);
}

/** A new process, child of `parent`, inheriting its identity, cwd and (unless given) env. */
export function fork(machine: Machine, parent: Proc, argv: string[], stdio: Stdio, env: Record<string, string> = { ...parent.env }): Proc {
  return machine.table.create({
    ppid: parent.pid,
    argv,
    env,
    cwd: parent.cwd,
    user: parent.user,
    uid: parent.uid,
    gid: parent.gid,
    groups: parent.groups,
    stdio,
  });
}

/**
 * Runs `main` as the code of `proc` and ends the process with its result. A failure that
 * is not the process ending is an emulator bug: reported on stderr, status 1.
 */
export function runProcess(proc: Proc, main: () => Promise<number>): void {
  void (async () => {
    try {
      proc.finish(await main());
    } catch (err) {
      if (proc.exited) return;
      if (err instanceof ProcessEnded) return proc.finish(1);
      const name = proc.argv[0] ?? 'process';
      try {
        await proc.stdio.stderr.write(Buffer.from(`${name}: internal error: ${err instanceof Error ? err.message : String(err)}\n`));
      } catch {
        // stderr gone too
      }
      proc.finish(1);
    }
  })();
}

/**
 * fork + exec from an applet (`env CMD`, `xargs CMD`, `find -exec`): a command that cannot
 * run is reported as busybox does (`NAME: can't execute 'foo': ...`), 127 or 126.
 */
async function runChild(machine: Machine, parent: Proc, argv: string[], stdio: Stdio, env: Record<string, string> | undefined, ctx: AppletContext): Promise<number> {
  const res = await resolveFor(machine, parent, argv, 'exec', env ?? parent.env);
  if (res.kind === 'error') {
    const text = res.error === 'not-found' ? 'No such file or directory' : res.error === 'permission-denied' ? 'Permission denied' : 'Exec format error';
    await ctx.error(`can't execute '${res.name}': ${text}`);
    return resolutionExitCode(res.error);
  }
  const child = fork(machine, parent, res.argv, stdio, env ? { ...env } : undefined);
  runProcess(child, () => execResolved(machine, child, res, stdio));
  return (await parent.guard(child.exit)).code;
}
