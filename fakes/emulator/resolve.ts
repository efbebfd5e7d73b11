import { posix } from 'node:path';
import type { HostFs } from '../../src/kernel/host-fs';
import { absPath, followLinks, lstatOrNull, readHead, statOrNull } from './fs-util';

/** The prefix of an executable the emulator runs as the applet named after it. */
export const APPLET_MARKER = '#!tsdocker-applet ';

/** The applet that runs `/.tsdocker/behaviour.json`; found even when no file provides it. */
export const SCRIPT_APPLET = 'tsdocker-script';

export type ResolutionErrorKind = 'not-found' | 'permission-denied' | 'exec-format';

/** How a command runs: as `applet` with the final argv (interpreters prepended for scripts). */
export type Resolution =
  | { kind: 'applet'; applet: string; path: string; argv: string[] }
  | { kind: 'error'; error: ResolutionErrorKind; name: string; path?: string };

export interface ResolveOptions {
  fs: HostFs;
  /** The process environment; its PATH is searched (busybox's default when unset). */
  env: Record<string, string>;
  cwd: string;
  isApplet: (name: string) => boolean;
  /**
   * `shell`: as busybox sh: a PATH match without the x bit is "Permission denied", a text
   * file without `#!` runs as a sh script. `exec`: as the runtime's Go `exec.LookPath` and
   * execve: non-executable PATH matches are skipped, text without `#!` is an exec format error.
   */
  mode: 'shell' | 'exec';
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Exit status a shell gives each failure: 127 not found, 126 found but not runnable. */
export function resolutionExitCode(kind: ResolutionErrorKind): number {
  return kind === 'not-found' ? 127 : 126;
}

/**
 * Resolves `argv[0]` in the container's filesystem. With a `/` it names a path (relative to
 * `cwd`); otherwise PATH is searched. A file runs as an applet when its content starts with
 * `#!tsdocker-applet NAME` (the emulated images' placeholders), or it starts with `#!` and
 * its interpreter resolves to an applet (a script), or its name or the basename of a
 * symbolic link on its way is an applet name (a real busybox binary and its links).
 */
export async function resolveCommand(argv: string[], opts: ResolveOptions): Promise<Resolution> {
  return resolveDepth(argv, opts, 0);
}

async function resolveDepth(argv: string[], opts: ResolveOptions, depth: number): Promise<Resolution> {
  const name = argv[0] ?? '';
  const notFound: Resolution = { kind: 'error', error: 'not-found', name };
  if (name === '') return notFound;
  if (name.includes('/')) return classify(absPath(opts.cwd, name), argv, opts, depth);
  let sawDenied: string | undefined;
  for (const dir of (opts.env.PATH ?? DEFAULT_PATH).split(':')) {
    const candidate = absPath(opts.cwd, posix.join(dir === '' ? '.' : dir, name));
    const st = await statOrNull(opts.fs, candidate);
    if (!st) continue;
    if (st.isDirectory() || (st.mode & 0o111) === 0) {
      sawDenied ??= candidate;
      continue;
    }
    return classify(candidate, argv, opts, depth);
  }
  if (name === SCRIPT_APPLET) return { kind: 'applet', applet: SCRIPT_APPLET, path: SCRIPT_APPLET, argv };
  if (sawDenied && opts.mode === 'shell') return { kind: 'error', error: 'permission-denied', name, path: sawDenied };
  return notFound;
}

async function classify(path: string, argv: string[], opts: ResolveOptions, depth: number): Promise<Resolution> {
  const name = argv[0] ?? '';
  const st = await statOrNull(opts.fs, path);
  if (!st) return { kind: 'error', error: 'not-found', name, path };
  if (st.isDirectory() || (st.mode & 0o111) === 0) return { kind: 'error', error: 'permission-denied', name, path };
  const real = await followLinks(opts.fs, path);
  const head = (await readHead(opts.fs, real, 256).catch(() => Buffer.alloc(0))).toString('latin1');
  const firstLine = head.split('\n', 1)[0] ?? '';
  if (firstLine.startsWith(APPLET_MARKER)) {
    return { kind: 'applet', applet: firstLine.slice(APPLET_MARKER.length).trim(), path, argv };
  }
  if (firstLine.startsWith('#!')) {
    const [interpreter, ...rest] = firstLine.slice(2).trim().split(/\s+/);
    const interpArg = rest.join(' ');
    if (!interpreter || depth > 4) return { kind: 'error', error: 'exec-format', name, path };
    const scriptArgv = [interpreter, ...(interpArg ? [interpArg] : []), name, ...argv.slice(1)];
    const inner = await resolveDepth(scriptArgv, { ...opts, env: { ...opts.env, PATH: '' } }, depth + 1);
    return inner.kind === 'error' ? { kind: 'error', error: 'not-found', name, path } : inner;
  }
  for (const candidate of await linkNames(opts.fs, path)) {
    if (opts.isApplet(candidate)) return { kind: 'applet', applet: candidate, path, argv };
  }
  const isText = head.length > 0 && !head.startsWith('\x7fELF') && !head.includes('\0');
  if (opts.mode === 'shell' && (isText || head.length === 0)) {
    return { kind: 'applet', applet: 'sh', path, argv: ['sh', name, ...argv.slice(1)] };
  }
  return { kind: 'error', error: 'exec-format', name, path };
}

/** The basename of `path`, then of each symbolic link target on the way to the file. */
async function linkNames(fs: HostFs, path: string): Promise<string[]> {
  const names = [posix.basename(path)];
  let current = path;
  for (let i = 0; i < 40; i++) {
    const st = await lstatOrNull(fs, current);
    if (!st?.isSymbolicLink()) break;
    current = posix.resolve(posix.dirname(current), await fs.readlink(current));
    names.push(posix.basename(current));
  }
  return names;
}

/** What busybox sh prints when a command cannot run (status from `resolutionExitCode`). */
export function shellErrorMessage(kind: ResolutionErrorKind, name: string): string {
  switch (kind) {
    case 'not-found':
      return `${name}: not found`;
    case 'permission-denied':
      return `${name}: Permission denied`;
    case 'exec-format':
      return `${name}: Exec format error`;
  }
}

/**
 * The runtime's text for a container command that cannot start, as runc prints it inside
 * Docker's `OCI runtime create failed: ...: <this>: unknown`.
 */
export function runtimeErrorMessage(kind: ResolutionErrorKind, name: string): string {
  switch (kind) {
    case 'not-found':
      return name.includes('/')
        ? `exec: "${name}": stat ${name}: no such file or directory`
        : `exec: "${name}": executable file not found in $PATH`;
    case 'permission-denied':
      return `exec: "${name}": permission denied`;
    case 'exec-format':
      return `exec ${name}: exec format error`;
  }
}
