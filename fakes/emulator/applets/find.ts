import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Applet, AppletContext } from '../context';
import { absPath, lstatOrNull } from '../fs-util';
import { matchPattern } from '../shell/pattern';
import { usageError } from './args';

type Test = (path: string, st: Stats, depth: number) => Promise<boolean>;

interface FindPlan {
  tests: Test[];
  actions: ((path: string) => Promise<void>)[];
  maxDepth: number;
  minDepth: number;
}

/** find [PATH]... [-name|-iname|-path PAT] [-type f|d|l] [-maxdepth N] [-mindepth N] [-newer F] [-print] [-exec CMD {} ;|+] [-delete] (tests are and-ed; `!`/-not negates the next). */
export const find: Applet = async (ctx) => {
  const args = ctx.argv.slice(1);
  const roots: string[] = [];
  while (args.length > 0 && !args[0]!.startsWith('-') && args[0] !== '!' && args[0] !== '(') roots.push(args.shift()!);
  if (roots.length === 0) roots.push('.');
  const finalizers: (() => Promise<void>)[] = [];
  const plan = await parsePlan(ctx, args);
  if (!plan) return 1;
  let status = 0;
  const visit = async (shown: string, depth: number): Promise<void> => {
    const path = absPath(ctx.cwd, shown);
    const st = await lstatOrNull(ctx.fs, path);
    if (!st) {
      await ctx.error(`${shown}: No such file or directory`);
      status = 1;
      return;
    }
    if (depth >= plan.minDepth) {
      let ok = true;
      for (const t of plan.tests) if (!(await t(shown, st, depth))) ok = false;
      if (ok) {
        if (plan.actions.length === 0) await ctx.stdout.write(`${shown}\n`);
        for (const a of plan.actions) await a(shown);
      }
    }
    if (st.isDirectory() && depth < plan.maxDepth) {
      const names = await ctx.fs.readdir(path).catch((): string[] => []);
      for (const n of names.sort()) await visit(shown.endsWith('/') ? `${shown}${n}` : `${shown}/${n}`, depth + 1);
    }
  };
  for (const r of roots) await visit(r, 0);
  for (const f of finalizers) await f();
  return status;

  async function parsePlan(c: AppletContext, a: string[]): Promise<FindPlan | null> {
    const p: FindPlan = { tests: [], actions: [], maxDepth: Infinity, minDepth: 0 };
    let negate = false;
    const add = (t: Test): void => {
      const neg = negate;
      negate = false;
      p.tests.push(neg ? async (...x) => !(await t(...x)) : t);
    };
    for (let i = 0; i < a.length; i++) {
      const op = a[i]!;
      const arg = (): string | undefined => a[++i];
      switch (op) {
        case '!':
        case '-not':
          negate = !negate;
          break;
        case '-a':
        case '-and':
          break;
        case '-name':
        case '-iname': {
          const pat = arg() ?? '';
          const ci = op === '-iname';
          add(async (path) => matchPattern(ci ? pat.toLowerCase() : pat, ci ? posix.basename(path).toLowerCase() : posix.basename(path)));
          break;
        }
        case '-path': {
          const pat = arg() ?? '';
          add(async (path) => matchPattern(pat, path));
          break;
        }
        case '-type': {
          const t = arg() ?? '';
          add(async (_p, st) => (t === 'f' ? st.isFile() : t === 'd' ? st.isDirectory() : t === 'l' ? st.isSymbolicLink() : t === 'p' ? st.isFIFO() : t === 'c' ? st.isCharacterDevice() : t === 'b' ? st.isBlockDevice() : false));
          break;
        }
        case '-maxdepth':
          p.maxDepth = Number(arg());
          break;
        case '-mindepth':
          p.minDepth = Number(arg());
          break;
        case '-empty':
          add(async (path, st) => (st.isDirectory() ? (await ctx.fs.readdir(absPath(ctx.cwd, path))).length === 0 : st.isFile() && st.size === 0));
          break;
        case '-newer': {
          const ref = await lstatOrNull(ctx.fs, absPath(ctx.cwd, arg() ?? ''));
          add(async (_p, st) => !!ref && st.mtimeMs > ref.mtimeMs);
          break;
        }
        case '-print':
          p.actions.push(async (path) => ctx.stdout.write(`${path}\n`));
          break;
        case '-delete':
          p.actions.push(async (path) => ctx.fs.rm(absPath(ctx.cwd, path), { recursive: true, force: true }));
          break;
        case '-exec': {
          const cmd: string[] = [];
          for (i++; i < a.length && a[i] !== ';' && a[i] !== '+'; i++) cmd.push(a[i]!);
          if (i >= a.length) {
            await usageError(c, "missing argument to '-exec'", '[-HL] [PATH]... [OPTIONS] [ACTIONS]');
            return null;
          }
          if (a[i] === '+') {
            const pending: string[] = [];
            p.actions.push(async (path) => void pending.push(path));
            const flush = async (): Promise<void> => {
              if (pending.length > 0) await ctx.run(cmd.flatMap((x) => (x === '{}' ? pending : [x])), ctx.stdio);
            };
            finalizers.push(flush);
          } else p.actions.push(async (path) => void (await ctx.run(cmd.map((x) => x.split('{}').join(path)), ctx.stdio)));
          break;
        }
        default:
          await usageError(c, `unrecognized: ${op}`, '[-HL] [PATH]... [OPTIONS] [ACTIONS]');
          return null;
      }
    }
    return p;
  }
};
