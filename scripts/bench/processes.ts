import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { descendants, isRunning } from './procfs';

/** A process the benchmark started, with its output sent to a log file. */
export interface StartedProcess {
  readonly pid: number;
  /** process.hrtime.bigint() just before spawn(). */
  readonly spawnedAt: bigint;
  /** Why the process is gone (exit code or signal), or undefined while it runs. */
  exitReason(): string | undefined;
  /** Resolves with the exit reason when the process has exited; at that moment `exitedAt` is set. */
  readonly exited: Promise<string>;
  /** process.hrtime.bigint() when the exit was seen, or undefined while it runs. */
  exitedAt(): bigint | undefined;
  /** The last `bytes` of its stdout+stderr, for error messages. */
  logTail(bytes?: number): string;
  /**
   * SIGTERM the process by its pid, wait for it and for every descendant it had (e.g. dockerd's
   * containerd) to exit; SIGKILL whatever is left after `graceMs`. Resolves once all are gone.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Spawn `argv` directly (no shell), its output appended to `logPath`. Throws when it cannot start. */
export function startProcess(argv: readonly string[], logPath: string, env: NodeJS.ProcessEnv = process.env): StartedProcess {
  const [file, ...args] = argv;
  if (!file) throw new Error('cannot start an empty command');
  const fd = openSync(logPath, 'a');
  const spawnedAt = process.hrtime.bigint();
  const child = spawn(file, args, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  let exit: string | undefined;
  let exitAt: bigint | undefined;
  const exited = new Promise<string>((resolve) => {
    const done = (reason: string) => {
      exitAt ??= process.hrtime.bigint();
      exit ??= reason;
      resolve(exit);
    };
    child.once('exit', (code, signal) => done(signal ? `${file} was killed by ${signal}` : `${file} exited with code ${code}`));
    child.once('error', (err) => done(`${file} could not start: ${err.message}`));
  });
  if (child.pid === undefined) throw new Error(`${file} could not start (see ${logPath})`);
  const pid = child.pid;
  return {
    pid,
    spawnedAt,
    exitReason: () => exit,
    exited,
    exitedAt: () => exitAt,
    logTail(bytes = 2000) {
      try {
        const text = readFileSync(logPath, 'utf8');
        return text.slice(-bytes);
      } catch {
        return '';
      }
    },
    async stop(graceMs = 20_000) {
      if (exit !== undefined) return;
      const family = await descendants(pid);
      signal(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      await Promise.race([exited, sleep(graceMs)]);
      if (exit === undefined) {
        signal(pid, 'SIGKILL');
        await exited;
      }
      for (const p of family) {
        while ((await isRunning(p)) && Date.now() < deadline) await sleep(20);
        if (await isRunning(p)) {
          signal(p, 'SIGKILL');
          while (await isRunning(p)) await sleep(20);
        }
      }
    },
  };
}

/** Send a signal by pid; a process that is already gone is not an error. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Split a command line into words as a POSIX shell would for a simple command: whitespace
 * separates, '...' is literal, "..." and a bare backslash escape. No expansions, pipes or
 * redirections (the command is run directly so that its pid is the daemon's).
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in command: ${line}`);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new Error(`unterminated " in command: ${line}`);
      i = j;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
