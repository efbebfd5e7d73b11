import type { AppletContext } from '../context';
import { absPath, errnoText, openRead } from '../fs-util';
import { Input } from '../io';

/** An operand opened for reading; `-` is stdin. */
export interface OpenedInput {
  name: string;
  read(): Promise<Buffer | null>;
}

/**
 * Opens each operand in turn (stdin when there are none), printing `NAME: FILE: error` for
 * those that fail; `failed` tells whether any did.
 */
export async function* inputs(ctx: AppletContext, operands: string[], state: { failed: boolean }): AsyncGenerator<OpenedInput> {
  for (const name of operands.length > 0 ? operands : ['-']) {
    if (name === '-') {
      yield { name, read: () => ctx.stdin.read() };
      continue;
    }
    try {
      const input = new Input(await openRead(ctx.fs, absPath(ctx.cwd, name)));
      yield { name, read: () => ctx.proc.guard(input.read()) };
    } catch (err) {
      await ctx.error(`${name}: ${errnoText(err)}`);
      state.failed = true;
    }
  }
}

/** The lines of an input as they arrive, without their newlines; `last` has none if the input did not end with one. */
export async function* lines(input: { read(): Promise<Buffer | null> }): AsyncGenerator<{ line: string; newline: boolean }> {
  let rest = '';
  for (let chunk = await input.read(); chunk !== null; chunk = await input.read()) {
    const text = rest + chunk.toString('latin1');
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const line of parts) yield { line: Buffer.from(line, 'latin1').toString(), newline: true };
  }
  if (rest !== '') yield { line: Buffer.from(rest, 'latin1').toString(), newline: false };
}

/** Reads a whole input as text. */
export async function readText(input: { read(): Promise<Buffer | null> }): Promise<string> {
  const parts: Buffer[] = [];
  for (let c = await input.read(); c !== null; c = await input.read()) parts.push(c);
  return Buffer.concat(parts).toString();
}

