import { describe, expect, it } from 'vitest';
import { Coprocess, CoprocessError } from './coprocess';

const echo = (idleExitMs = 5000) =>
  new Coprocess({
    command: 'sh',
    // Answers each line with itself, except `<id> die`, which ends the process unanswered.
    args: ['-c', 'while read id rest; do [ "$rest" = die ] && exit 3; echo "$id got $rest"; done'],
    name: 'the echo helper',
    idOf: (line) => Number(line.split(' ')[0]),
    idleExitMs,
  });

describe('a line-protocol co-process', () => {
  it('answers each request by its id, in flight together', async () => {
    const c = echo();
    const answers = await Promise.all(['a', 'b', 'c'].map((x) => c.call((id) => `${id} ${x}\n`)));
    expect(answers.map((a) => a.split(' ').slice(1).join(' '))).toEqual(['got a', 'got b', 'got c']);
  });

  it('fails the requests in flight when it dies, and starts anew for the next', async () => {
    const c = echo();
    const dead = await c.call((id) => `${id} die\n`).catch((e: unknown) => e);
    expect(dead).toBeInstanceOf(CoprocessError);
    expect((dead as CoprocessError).missing).toBe(false);
    expect((dead as Error).message).toMatch(/the echo helper exited with code 3/);
    expect(await c.call((id) => `${id} again\n`)).toMatch(/got again$/);
  });

  it('says when the program is missing, and stays unavailable', async () => {
    const c = new Coprocess({ command: '/nonexistent/helper', args: [], name: 'the missing helper', idOf: Number, idleExitMs: 1000 });
    const e = await c.call((id) => `${id}\n`).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(CoprocessError);
    expect((e as CoprocessError).missing).toBe(true);
    expect(c.unavailable).toBe(true);
  });

  it('exits when idle and comes back on the next request', async () => {
    const c = echo(20);
    expect(await c.call((id) => `${id} one\n`)).toMatch(/got one$/);
    await new Promise((r) => setTimeout(r, 100));
    expect(await c.call((id) => `${id} two\n`)).toMatch(/got two$/);
  });
});
