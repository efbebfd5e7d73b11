import { parseBool } from './validate';

/** One flag as the scanner sees it: a long name, an optional one-letter short name, and its shape. */
export interface FlagShape {
  long: string;
  short?: string;
  /** bool: takes no separate argument; value: takes one; list: takes one and may repeat. */
  kind: 'bool' | 'value' | 'list';
  /** Checks each value of a value or list flag as it is read: a reason to refuse it, or undefined. */
  check?: (value: string) => string | undefined;
}

/** What the command line said: bools and values keep their last occurrence, lists every one in order. */
export type ScannedFlags = Map<string, boolean | string | string[]>;

/**
 * A command line refused. `flag` is the long form (`--mtu`) of the flag at fault (an unknown flag
 * as given), or '' for a stray positional argument; `value` is the offending text. The message defaults to
 * `invalid value "VALUE" for flag --NAME: REASON`; syntax and cross-flag errors give their own.
 */
export class FlagError extends Error {
  constructor(
    readonly flag: string,
    readonly value: string,
    readonly reason: string,
    message = `invalid value "${value}" for flag ${flag}: ${reason}`,
  ) {
    super(message);
    this.name = 'FlagError';
  }
}

/**
 * Scan argv with the syntax of Go's flag package, which the docker daemon uses:
 * `--name=value`, `--name value`, `-n=value`, `-n value`; bools as `--name`, `--name=BOOL`, `-n`,
 * `-n=BOOL` (BOOL as Go's strconv.ParseBool: 1 t T true TRUE True, 0 f F false FALSE False), plus
 * `--no-name` for false. A value flag always takes the next argument, even one starting with `-`.
 * Also accepted, as commander does: `-nvalue` for a short value flag. A bool never takes the next
 * argument, so `-D true` leaves `true` as a positional argument.
 *
 * The scan refuses, with a FlagError about the first offending argument: unknown flags, a missing
 * value, a bool given a non-boolean, a value its flag's check refuses, and any positional argument
 * (including everything after `--`).
 */
export function scanGoFlags(argv: readonly string[], shapes: readonly FlagShape[]): ScannedFlags {
  const byLong = new Map(shapes.map((s) => [s.long, s]));
  const byShort = new Map(shapes.filter((s) => s.short).map((s) => [s.short!, s]));
  const out: ScannedFlags = new Map();

  const set = (shape: FlagShape, value: boolean | string) => {
    const reason = typeof value === 'string' ? shape.check?.(value) : undefined;
    if (reason) throw new FlagError(`--${shape.long}`, value as string, reason);
    if (shape.kind === 'list') {
      const prev = out.get(shape.long);
      out.set(shape.long, [...((prev as string[] | undefined) ?? []), value as string]);
    } else {
      out.set(shape.long, value);
    }
  };
  const boolValue = (shape: FlagShape, text: string) => {
    const b = parseBool(text);
    if (b === undefined) throw new FlagError(`--${shape.long}`, text, 'must be true or false');
    return b;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      const rest = argv[i + 1];
      if (rest !== undefined) throw stray(rest);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') throw stray(arg);

    const long = arg.startsWith('--');
    const body = arg.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);

    let shape: FlagShape | undefined;
    let negated = false;
    let attached: string | undefined = inline;
    if (long) {
      shape = byLong.get(name);
      if (!shape && name.startsWith('no-') && inline === undefined) {
        shape = byLong.get(name.slice(3));
        negated = shape?.kind === 'bool';
        if (!negated) shape = undefined;
      }
    } else {
      shape = byShort.get(name.charAt(0));
      // `-Hvalue`: the rest of the argument is the value of a short value flag.
      if (shape && name.length > 1) {
        if (shape.kind === 'bool') shape = undefined;
        else attached = body.slice(1);
      } else if (name.length !== 1) {
        shape = undefined;
      }
    }
    if (!shape) {
      const given = `${long ? '--' : '-'}${name}`;
      throw new FlagError(given, given, 'unknown flag', `flag provided but not defined: ${given}`);
    }

    if (shape.kind === 'bool') {
      set(shape, negated ? false : attached === undefined ? true : boolValue(shape, attached));
      continue;
    }
    if (attached === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw new FlagError(`--${shape.long}`, '', 'needs an argument', `flag needs an argument: --${shape.long}`);
      attached = next;
      i++;
    }
    set(shape, attached);
  }
  return out;
}

function stray(arg: string): FlagError {
  return new FlagError('', arg, 'unexpected argument', `unexpected argument "${arg}": only flags are accepted`);
}
