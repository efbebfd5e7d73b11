import { posix } from 'node:path';
import type { Machine } from '../context';
import { execResolved, fork, resolveFor, runProcess } from '../exec';
import { absPath, errnoCode, errnoText, openRead, openWrite } from '../fs-util';
import { BufferSink, EMPTY_SOURCE, Input, NULL_SINK, Pipe, bufferSource, type Sink } from '../io';
import { ProcessEnded, type Proc, type Stdio } from '../process';
import { resolutionExitCode, shellErrorMessage } from '../resolve';
import { ArithmeticError, evaluate } from './arith';
import type { AndOr, Command, List, Pipeline, Redirect } from './ast';
import { BUILTINS, SPECIAL_BUILTINS } from './builtins';
import type { Rlimit } from './ulimit';
import { BreakSignal, ContinueSignal, ExitSignal, ReturnSignal } from './control';
import { ExpansionError, expandPattern, expandString, expandWords, type ExpandHost } from './expand';
import { ShellSyntaxError } from './lexer';
import { parseScript } from './parser';
import { hasGlob, matchPattern, patternSource, unescapePattern } from './pattern';

/** An open descriptor of the shell: something to read or something to write. */
export type FdEntry = { input: Input } | { sink: Sink };

export interface ShellVar {
  value: string;
  exported: boolean;
}

export interface ShellOptions {
  errexit: boolean;
  xtrace: boolean;
  nounset: boolean;
  noglob: boolean;
}

/**
 * A busybox-ash-like shell bound to one emulated process. Builtins run in this process;
 * other commands, pipeline stages, subshells, `&` jobs and command substitutions run in
 * forked processes (new pids) sharing the descriptors, as on Linux.
 */
export class Shell {
  vars = new Map<string, ShellVar>();
  functions = new Map<string, Command>();
  positional: string[] = [];
  /** Resource limits this shell set with `ulimit` (over the machine's). */
  limits = new Map<string, Rlimit>();
  arg0 = 'sh';
  status = 0;
  lastBackground: number | undefined;
  options: ShellOptions = { errexit: false, xtrace: false, nounset: false, noglob: false };
  /** Trap commands by signal number; 0 is EXIT. An empty string ignores the signal. */
  traps = new Map<number, string>();
  jobs = new Map<number, Proc>();
  fds = new Map<number, FdEntry>();
  /** Nesting of conditions (if/while tests, && || operands) where `set -e` does not apply. */
  conditionDepth = 0;
  loopDepth = 0;
  /** Saved variables of `local`, one frame per running function. */
  localFrames: Map<string, ShellVar | undefined>[] = [];
  /** Whether this shell is a forked copy whose last external command may replace it (exec). */
  execTail = false;
  rootPid: number;
  interactive = false;
  private permanentSinks: Sink[] = [];
  private exitTrapRan = false;

  constructor(
    readonly machine: Machine,
    readonly proc: Proc,
    stdio: Stdio,
  ) {
    this.rootPid = proc.pid;
    for (const [name, value] of Object.entries(proc.env)) this.vars.set(name, { value, exported: true });
    if (!this.vars.has('IFS')) this.vars.set('IFS', { value: ' \t\n', exported: false });
    if (!this.vars.has('PWD')) this.vars.set('PWD', { value: proc.cwd, exported: true });
    this.fds.set(0, { input: stdio.stdin });
    this.fds.set(1, { sink: stdio.stdout });
    this.fds.set(2, { sink: stdio.stderr });
  }

  // ---- descriptors and output -------------------------------------------------------

  stdio(fds = this.fds): Stdio {
    const fd0 = fds.get(0);
    const fd1 = fds.get(1);
    const fd2 = fds.get(2);
    return {
      stdin: fd0 && 'input' in fd0 ? fd0.input : new Input(EMPTY_SOURCE),
      stdout: fd1 && 'sink' in fd1 ? fd1.sink : NULL_SINK,
      stderr: fd2 && 'sink' in fd2 ? fd2.sink : NULL_SINK,
    };
  }

  async out(text: string): Promise<void> {
    await this.proc.write(this.stdio().stdout, text);
  }

  /** Prints `sh: message` on stderr. */
  async err(message: string): Promise<void> {
    await this.proc.write(this.stdio().stderr, `${this.arg0 === 'sh' || !this.arg0 ? 'sh' : this.arg0}: ${message}\n`);
  }

  // ---- variables --------------------------------------------------------------------

  getVar(name: string): string | undefined {
    return this.vars.get(name)?.value;
  }

  setVar(name: string, value: string, exported?: boolean): void {
    const old = this.vars.get(name);
    this.vars.set(name, { value, exported: exported ?? old?.exported ?? false });
  }

  /** The environment a child process gets: exported variables plus `extra`. */
  exportedEnv(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, v] of this.vars) if (v.exported) env[name] = v.value;
    return { ...env, ...extra };
  }

  getParam(name: string): string | undefined {
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      return n === 0 ? this.arg0 : this.positional[n - 1];
    }
    switch (name) {
      case '#':
        return String(this.positional.length);
      case '?':
        return String(this.status);
      case '$':
        return String(this.rootPid);
      case '!':
        return this.lastBackground === undefined ? '' : String(this.lastBackground);
      case '-':
        return `${this.options.errexit ? 'e' : ''}${this.options.noglob ? 'f' : ''}${this.options.nounset ? 'u' : ''}${this.options.xtrace ? 'x' : ''}`;
      case '@':
      case '*':
        return this.positional.join(' ');
      default:
        return this.getVar(name);
    }
  }

  private expandHost(): ExpandHost {
    return {
      getParam: (name) => this.getParam(name),
      positional: () => this.positional,
      setVar: (name, value) => this.setVar(name, value),
      substitute: (body) => this.substitute(body),
      arithmetic: (expr) => {
        try {
          return String(evaluate(expr, { get: (n) => this.getVar(n), set: (n, v) => this.setVar(n, v) }));
        } catch (err) {
          if (err instanceof ArithmeticError) throw new ExpansionError(err.message);
          throw err;
        }
      },
      glob: (pattern) => this.glob(pattern),
      nounset: this.options.nounset,
      noglob: this.options.noglob,
    };
  }

  /** Runs `fn`; an expansion error prints `sh: ...` and ends a non-interactive shell with 2. */
  private async expanding<T>(fn: (host: ExpandHost) => Promise<T>): Promise<T> {
    try {
      return await fn(this.expandHost());
    } catch (err) {
      if (err instanceof ExpansionError) {
        await this.err(err.message);
        throw new ExitSignal(2);
      }
      throw err;
    }
  }

  /** Pathname expansion relative to the working directory. */
  async glob(pattern: string): Promise<string[]> {
    const fs = this.machine.fs;
    const absolute = pattern.startsWith('/');
    const segments = pattern.split('/').filter((s, i) => s !== '' || i === 0);
    let found: string[] = [absolute ? '/' : ''];
    for (const [i, seg] of segments.entries()) {
      if (seg === '' && i === 0) continue;
      const last = i === segments.length - 1;
      const next: string[] = [];
      for (const base of found) {
        const dir = absPath(this.proc.cwd, base || '.');
        if (!hasGlob(seg)) {
          const candidate = base === '' ? unescapePattern(seg) : posix.join(base, unescapePattern(seg));
          if (await fs.exists(absPath(this.proc.cwd, candidate))) next.push(candidate);
          continue;
        }
        let names: string[];
        try {
          if (!(await fs.stat(dir)).isDirectory()) continue;
          names = await fs.readdir(dir);
        } catch {
          continue;
        }
        const re = new RegExp(`^${patternSource(seg, true)}$`);
        for (const name of names.sort()) {
          if (name.startsWith('.') && !seg.startsWith('.') && !seg.startsWith('\\.')) continue;
          if (!re.test(name)) continue;
          const candidate = base === '' ? name : posix.join(base, name);
          if (!last && !(await fs.stat(absPath(this.proc.cwd, candidate)).then((s) => s.isDirectory(), () => false))) continue;
          next.push(candidate);
        }
      }
      found = next;
      if (found.length === 0) return [];
    }
    return found.sort();
  }

  // ---- running scripts --------------------------------------------------------------

  /**
   * Parses and runs `src` as the shell's script: a syntax error prints
   * `sh: syntax error: ...` and yields 2. `exit`, `set -e` and fatal errors end it; the
   * EXIT trap runs at the end. Resolves with the shell's exit status.
   */
  async runScript(src: string, opts: { execTail?: boolean } = {}): Promise<number> {
    let list: List;
    try {
      list = parseScript(src);
    } catch (err) {
      if (!(err instanceof ShellSyntaxError)) throw err;
      await this.err(`syntax error: ${err.message}`);
      return this.finish(2);
    }
    this.execTail = opts.execTail ?? false;
    return this.runTop(list);
  }

  /** Runs a parsed list as the whole shell. */
  async runTop(list: List): Promise<number> {
    try {
      await this.runList(list, this.execTail);
      return await this.finish(this.status);
    } catch (err) {
      if (err instanceof ExitSignal) return this.finish(err.status);
      if (err instanceof ReturnSignal || err instanceof BreakSignal || err instanceof ContinueSignal) return this.finish(this.status);
      throw err;
    }
  }

  /** Runs the EXIT trap once, flushes redirected outputs; the final status. */
  async finish(status: number): Promise<number> {
    let final = status;
    const exitTrap = this.traps.get(0);
    if (exitTrap && !this.exitTrapRan) {
      this.exitTrapRan = true;
      this.status = status;
      try {
        await this.evalString(exitTrap);
      } catch (err) {
        if (err instanceof ExitSignal) final = err.status;
        else if (!(err instanceof ReturnSignal)) throw err;
      }
    }
    for (const sink of this.permanentSinks.splice(0)) await sink.close().catch(() => {});
    return final;
  }

  /** Parses and runs `src` in this shell (eval, traps, `.`). */
  async evalString(src: string): Promise<number> {
    let list: List;
    try {
      list = parseScript(src);
    } catch (err) {
      if (!(err instanceof ShellSyntaxError)) throw err;
      await this.err(`syntax error: ${err.message}`);
      throw new ExitSignal(2);
    }
    return this.runList(list);
  }

  async runList(list: List, tail = false): Promise<number> {
    const items = list.items;
    for (const [i, item] of items.entries()) {
      if (item.background) {
        this.startBackground(item.command);
        this.status = 0;
      } else {
        this.status = await this.runAndOr(item.command, tail && i === items.length - 1);
      }
      await this.runTraps();
    }
    return this.status;
  }

  /** Runs the handlers of caught signals that have arrived, in order. */
  async runTraps(): Promise<void> {
    while (this.proc.pendingSignals.length > 0) {
      const sig = this.proc.pendingSignals.shift()!;
      const action = this.traps.get(sig);
      if (!action) continue;
      const saved = this.status;
      await this.evalString(action);
      this.status = saved;
    }
  }

  private async runAndOr(andOr: AndOr, tail: boolean): Promise<number> {
    const pipelines = [{ op: null as '&&' | '||' | null, pipeline: andOr.first }, ...andOr.rest];
    let status = 0;
    let ranLast = false;
    for (const [i, { op, pipeline }] of pipelines.entries()) {
      const last = i === pipelines.length - 1;
      if (op === '&&' && status !== 0) continue;
      if (op === '||' && status === 0) continue;
      if (!last) this.conditionDepth++;
      try {
        status = await this.runPipeline(pipeline, tail && last && pipelines.length === 1);
      } finally {
        if (!last) this.conditionDepth--;
      }
      ranLast = last;
      this.status = status;
    }
    const negated = pipelines[pipelines.length - 1]!.pipeline.negate;
    if (ranLast && !negated && status !== 0 && this.options.errexit && this.conditionDepth === 0) throw new ExitSignal(status);
    return status;
  }

  private async runPipeline(pipeline: Pipeline, tail: boolean): Promise<number> {
    let status: number;
    if (pipeline.commands.length === 1) status = await this.runCommand(pipeline.commands[0]!, tail && !pipeline.negate);
    else status = await this.runStages(pipeline.commands);
    return pipeline.negate ? (status === 0 ? 1 : 0) : status;
  }

  /** A pipeline of several commands: each stage in its own process, joined by pipes. */
  private async runStages(commands: Command[]): Promise<number> {
    const pipes = commands.slice(1).map(() => new Pipe());
    const children = commands.map((command, i) => {
      const fds = new Map(this.fds);
      const inPipe = pipes[i - 1];
      const outPipe = pipes[i];
      if (inPipe) fds.set(0, { input: new Input(inPipe) });
      if (outPipe) fds.set(1, { sink: outPipe });
      const child = this.forkShell(fds, (sh) => sh.runCommand(command, true));
      void child.exit.then(() => {
        void outPipe?.close();
        inPipe?.closeRead();
      });
      return child;
    });
    const results = await this.proc.guard(Promise.all(children.map((c) => c.exit)));
    return results[results.length - 1]!.code;
  }

  /**
   * Forks a copy of this shell into a child process with descriptors `fds` and runs `body`
   * there. Traps are reset in the copy (ignored signals stay ignored), as in a subshell.
   */
  forkShell(fds: Map<number, FdEntry>, body: (sh: Shell) => Promise<number>): Proc {
    const child = fork(this.machine, this.proc, [...this.proc.argv], this.stdio(fds), this.exportedEnv());
    const sub = new Shell(this.machine, child, this.stdio(fds));
    sub.vars = new Map([...this.vars].map(([k, v]) => [k, { ...v }]));
    sub.functions = new Map(this.functions);
    sub.positional = [...this.positional];
    sub.arg0 = this.arg0;
    sub.status = this.status;
    sub.lastBackground = this.lastBackground;
    sub.options = { ...this.options };
    sub.fds = new Map(fds);
    sub.rootPid = this.rootPid;
    sub.execTail = true;
    for (const [sig, action] of this.traps) {
      if (action === '' && sig !== 0) {
        sub.traps.set(sig, '');
        child.dispositions.set(sig, 'ignore');
      }
    }
    runProcess(child, async () => {
      try {
        return await sub.finish(await body(sub));
      } catch (err) {
        if (err instanceof ExitSignal) return sub.finish(err.status);
        if (err instanceof ReturnSignal || err instanceof BreakSignal || err instanceof ContinueSignal) return sub.finish(sub.status);
        throw err;
      }
    });
    return child;
  }

  private startBackground(andOr: AndOr): void {
    const fds = new Map(this.fds);
    if (!this.interactive) fds.set(0, { input: new Input(EMPTY_SOURCE) });
    const child = this.forkShell(fds, (sh) => sh.runAndOr(andOr, true));
    this.jobs.set(child.pid, child);
    this.lastBackground = child.pid;
  }

  /** Runs a command substitution in a forked shell; resolves with what it printed. */
  async substitute(body: List): Promise<string> {
    const sink = new BufferSink();
    const fds = new Map(this.fds);
    fds.set(1, { sink });
    const child = this.forkShell(fds, (sh) => sh.runList(body));
    const result = await this.proc.guard(child.exit);
    this.status = result.code;
    this.substStatus = result.code;
    return sink.text();
  }

  private substStatus: number | undefined;

  // ---- commands ---------------------------------------------------------------------

  async runCommand(command: Command, tail = false): Promise<number> {
    await this.proc.checkpoint();
    switch (command.type) {
      case 'simple':
        return this.runSimple(command, tail);
      case 'group':
        return this.withRedirects(command.redirects, () => this.runList(command.body, tail));
      case 'subshell':
        return this.withRedirects(command.redirects, async () => {
          const child = this.forkShell(this.fds, (sh) => sh.runList(command.body, true));
          return (await this.proc.guard(child.exit)).code;
        });
      case 'if':
        return this.withRedirects(command.redirects, async () => {
          for (const clause of command.clauses) {
            if ((await this.condition(clause.cond)) === 0) return this.runList(clause.body);
          }
          return command.elseBody ? this.runList(command.elseBody) : 0;
        });
      case 'loop':
        return this.withRedirects(command.redirects, () => this.runLoop(command.until, command.cond, command.body));
      case 'for':
        return this.withRedirects(command.redirects, async () => {
          const items = command.items ? await this.expanding((h) => expandWords(command.items!, h)) : [...this.positional];
          return this.loopBody(async function* () {
            for (const item of items) yield item;
          }(), command.body, (item) => this.setVar(command.name, item));
        });
      case 'case':
        return this.withRedirects(command.redirects, async () => {
          const word = await this.expanding((h) => expandString(command.word, h));
          for (const item of command.items) {
            for (const p of item.patterns) {
              if (matchPattern(await this.expanding((h) => expandPattern(p, h)), word)) return this.runList(item.body);
            }
          }
          return 0;
        });
      case 'function':
        this.functions.set(command.name, command.body);
        return 0;
    }
  }

  private async condition(list: List): Promise<number> {
    this.conditionDepth++;
    try {
      return await this.runList(list);
    } finally {
      this.conditionDepth--;
    }
  }

  private async runLoop(until: boolean, cond: List, body: List): Promise<number> {
    const self = this;
    return this.loopBody(
      (async function* () {
        for (;;) {
          const c = await self.condition(cond);
          if (until ? c === 0 : c !== 0) return;
          yield '';
        }
      })(),
      body,
      () => {},
    );
  }

  /** Runs `body` once per item, handling break/continue; the status of the last body run. */
  private async loopBody(items: AsyncGenerator<string>, body: List, bind: (item: string) => void): Promise<number> {
    let status = 0;
    this.loopDepth++;
    try {
      for await (const item of items) {
        bind(item);
        try {
          status = await this.runList(body);
        } catch (err) {
          if (err instanceof BreakSignal) {
            if (err.levels > 1) throw new BreakSignal(err.levels - 1);
            break;
          }
          if (err instanceof ContinueSignal) {
            if (err.levels > 1) throw new ContinueSignal(err.levels - 1);
            continue;
          }
          throw err;
        }
        // a long-running loop of builtins still lets timers, signals and output run
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.proc.checkpoint();
      }
    } finally {
      this.loopDepth--;
    }
    return status;
  }

  private async runSimple(command: Extract<Command, { type: 'simple' }>, tail: boolean): Promise<number> {
    this.substStatus = undefined;
    const argv = await this.expanding((h) => expandWords(command.words, h));
    const assigns: [string, string][] = [];
    for (const a of command.assigns) assigns.push([a.name, await this.expanding((h) => expandString(a.value, h))]);
    if (this.options.xtrace) {
      const shown = [...assigns.map(([n, v]) => `${n}=${quoteForTrace(v)}`), ...argv.map(quoteForTrace)];
      if (shown.length > 0) await this.proc.write(this.stdio().stderr, `+ ${shown.join(' ')}\n`);
    }
    if (argv.length === 0) {
      for (const [name, value] of assigns) this.setVar(name, value);
      const status = this.substStatus ?? 0;
      return this.withRedirects(command.redirects, async () => status);
    }
    const name = argv[0]!;
    if (name === 'exec' && argv.length === 1) return (await this.redirectPermanently(command.redirects)) ? 0 : 1;
    const special = SPECIAL_BUILTINS.has(name);
    if (special) for (const [n, v] of assigns) this.setVar(n, v);
    const fn = special ? undefined : this.functions.get(name);
    if (fn) return this.withRedirects(command.redirects, () => this.callFunction(fn, argv, assigns));
    const builtin = BUILTINS[name];
    if (builtin) {
      return this.withRedirects(command.redirects, () =>
        this.withTempVars(special ? [] : assigns, () => builtin(this, argv)),
      );
    }
    return this.withRedirects(command.redirects, () => this.runExternal(argv, assigns, tail));
  }

  private async withTempVars<T>(assigns: [string, string][], fn: () => Promise<T>): Promise<T> {
    if (assigns.length === 0) return fn();
    const saved = assigns.map(([n]) => [n, this.vars.get(n)] as const);
    for (const [n, v] of assigns) this.setVar(n, v);
    try {
      return await fn();
    } finally {
      for (const [n, old] of saved) {
        if (old) this.vars.set(n, old);
        else this.vars.delete(n);
      }
    }
  }

  private async callFunction(body: Command, argv: string[], assigns: [string, string][]): Promise<number> {
    const savedPositional = this.positional;
    this.positional = argv.slice(1);
    this.localFrames.push(new Map());
    try {
      return await this.withTempVars(assigns, () => this.runCommand(body));
    } catch (err) {
      if (err instanceof ReturnSignal) return err.status;
      throw err;
    } finally {
      const frame = this.localFrames.pop()!;
      for (const [n, old] of frame) {
        if (old) this.vars.set(n, old);
        else this.vars.delete(n);
      }
      this.positional = savedPositional;
    }
  }

  /** Resolves and runs a command from PATH: in a child process, or in place when `tail`. */
  async runExternal(argv: string[], assigns: [string, string][], tail: boolean): Promise<number> {
    const env = this.exportedEnv(Object.fromEntries(assigns));
    const res = await resolveFor(this.machine, this.proc, argv, 'shell', { ...env, PATH: this.getVar('PATH') ?? env.PATH ?? '' });
    if (res.kind === 'error') {
      await this.err(shellErrorMessage(res.error, res.name));
      return resolutionExitCode(res.error);
    }
    const stdio = this.stdio();
    if (tail && this.execTail && this.traps.size === 0) {
      this.proc.env = env;
      return execResolved(this.machine, this.proc, res, stdio);
    }
    const child = fork(this.machine, this.proc, res.argv, stdio, env);
    runProcess(child, () => execResolved(this.machine, child, res, stdio));
    return (await this.proc.guard(child.exit)).code;
  }

  /** `exec CMD`: replaces the shell by the command; never returns normally. */
  async execReplace(argv: string[]): Promise<never> {
    const env = this.exportedEnv();
    const res = await resolveFor(this.machine, this.proc, argv, 'shell', env);
    if (res.kind === 'error') {
      await this.err(shellErrorMessage(res.error, res.name));
      throw new ExitSignal(resolutionExitCode(res.error));
    }
    this.proc.env = env;
    for (const [sig] of this.traps) this.proc.dispositions.delete(sig);
    throw new ExitSignal(await execResolved(this.machine, this.proc, res, this.stdio()));
  }

  // ---- redirections -----------------------------------------------------------------

  /** Applies `redirects` around `fn`, restoring descriptors and closing files after. */
  async withRedirects(redirects: Redirect[], fn: () => Promise<number>): Promise<number> {
    if (redirects.length === 0) return fn();
    const saved = this.fds;
    const opened: Sink[] = [];
    this.fds = new Map(saved);
    try {
      if (!(await this.applyRedirects(redirects, opened))) return 1;
      return await fn();
    } finally {
      this.fds = saved;
      for (const sink of opened) await sink.close().catch(() => {});
    }
  }

  /** `exec >file`: redirections that stay for the rest of the shell. */
  async redirectPermanently(redirects: Redirect[]): Promise<boolean> {
    return this.applyRedirects(redirects, this.permanentSinks);
  }

  private async applyRedirects(redirects: Redirect[], opened: Sink[]): Promise<boolean> {
    for (const r of redirects) {
      const input = r.op === '<' || r.op === '<&' || r.op === '<<' || r.op === '<<-' || r.op === '<>';
      const fd = r.fd ?? (input ? 0 : 1);
      if (r.heredoc) {
        const body = r.heredoc.expand ? await this.expanding((h) => expandString(r.heredoc!.body, h)) : r.heredoc.body.parts.map((p) => (p.type === 'lit' ? p.text : '')).join('');
        this.fds.set(fd, { input: new Input(bufferSource(body)) });
        continue;
      }
      const target = await this.expanding((h) => expandString(r.target, h));
      if (r.op === '>&' || r.op === '<&') {
        if (target === '-') {
          this.fds.delete(fd);
          continue;
        }
        if (/^\d+$/.test(target)) {
          const entry = this.fds.get(Number(target));
          if (!entry) {
            await this.err(`${target}: Bad file descriptor`);
            return false;
          }
          this.fds.set(fd, entry);
          continue;
        }
        if (r.op === '<&') {
          await this.err(`${target}: Bad file descriptor`);
          return false;
        }
      }
      const path = absPath(this.proc.cwd, target);
      try {
        if (input) {
          this.fds.set(fd, { input: path === '/dev/stdin' ? this.stdio().stdin : new Input(await openRead(this.machine.fs, path)) });
          continue;
        }
        const special = path === '/dev/stdout' ? this.fds.get(1) : path === '/dev/stderr' ? this.fds.get(2) : undefined;
        let entry: FdEntry;
        if (special) entry = special;
        else {
          const sink = await openWrite(this.machine.fs, path, r.op === '>>' || r.op === '&>>');
          opened.push(sink);
          entry = { sink };
        }
        if (r.op === '&>' || r.op === '&>>' || (r.op === '>&' && r.fd === null)) {
          this.fds.set(1, entry);
          this.fds.set(2, entry);
        } else this.fds.set(fd, entry);
      } catch (err) {
        if (err instanceof ProcessEnded) throw err;
        const code = errnoCode(err);
        if (input) await this.err(`can't open '${target}': ${errnoText(err)}`);
        else await this.err(`can't create ${target}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'nonexistent directory' : errnoText(err)}`);
        return false;
      }
    }
    return true;
  }

  // ---- jobs -------------------------------------------------------------------------

  /**
   * Waits for background jobs (all, or the given pids). A caught signal interrupts the
   * wait with status 128+n, and its trap runs, as POSIX `wait` does.
   */
  async waitJobs(pids: number[] | null): Promise<number> {
    const targets = pids ?? [...this.jobs.keys()];
    let status = 0;
    for (const pid of targets) {
      const job = this.jobs.get(pid);
      if (!job) {
        status = 127;
        continue;
      }
      for (;;) {
        if (this.proc.pendingSignals.length > 0) {
          const sig = this.proc.pendingSignals[0]!;
          await this.runTraps();
          return 128 + sig;
        }
        const winner = await this.proc.guard(Promise.race([job.exit.then((r) => r), this.proc.nextChange().then(() => null)]));
        if (winner) {
          status = winner.code;
          this.jobs.delete(pid);
          break;
        }
      }
    }
    return status;
  }
}

function quoteForTrace(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
