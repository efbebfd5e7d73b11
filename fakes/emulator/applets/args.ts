import type { AppletContext } from '../context';

export interface ParsedArgs {
  flags: Set<string>;
  /** Options with arguments; repeated ones keep every value. */
  values: Map<string, string[]>;
  operands: string[];
  /** The last value given for `opt`. */
  value(opt: string): string | undefined;
  has(opt: string): boolean;
}

/** The banner busybox prints before an applet's usage. */
export const BUSYBOX_BANNER = 'BusyBox v1.36.1 (tsdocker emulated) multi-call binary.';

/**
 * Parses options as busybox's getopt32 does: `spec` lists option letters, a letter followed
 * by `:` takes an argument (`-n 5` or `-n5`); letters combine (`-la`); `--` ends options;
 * the first operand ends them too. An unknown option prints busybox's message and usage;
 * the result is then null and the applet exits 1.
 */
export async function getopt(ctx: AppletContext, spec: string, usage: string, args = ctx.argv.slice(1)): Promise<ParsedArgs | null> {
  const withArg = new Set<string>();
  const known = new Set<string>();
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === ':') continue;
    known.add(c);
    if (spec[i + 1] === ':') withArg.add(c);
  }
  const flags = new Set<string>();
  const values = new Map<string, string[]>();
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j]!;
      if (!known.has(c)) {
        await usageError(ctx, `invalid option -- '${c}'`, usage);
        return null;
      }
      if (withArg.has(c)) {
        const rest = arg.slice(j + 1);
        const v = rest !== '' ? rest : args[++i];
        if (v === undefined) {
          await usageError(ctx, `option requires an argument -- '${c}'`, usage);
          return null;
        }
        values.set(c, [...(values.get(c) ?? []), v]);
        break;
      }
      flags.add(c);
    }
  }
  const operands = args.slice(i);
  return {
    flags,
    values,
    operands,
    value: (opt) => values.get(opt)?.at(-1),
    has: (opt) => flags.has(opt) || values.has(opt),
  };
}

/** Prints `name: message` and the applet's usage; returns 1 (busybox's status for bad usage). */
export async function usageError(ctx: AppletContext, message: string, usage: string): Promise<number> {
  await ctx.stderr.write(`${ctx.name}: ${message}\n${BUSYBOX_BANNER}\n\nUsage: ${ctx.name} ${usage}\n`);
  return 1;
}

/** Parses a decimal count option (`-n 5`); prints busybox's `invalid number` on failure. */
export async function parseCount(ctx: AppletContext, text: string): Promise<number | null> {
  if (!/^[+-]?\d+$/.test(text)) {
    await ctx.error(`invalid number '${text}'`);
    return null;
  }
  return Number(text);
}
