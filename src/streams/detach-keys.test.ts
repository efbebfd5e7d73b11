import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidParameterError } from '../errors';
import { DEFAULT_DETACH_KEYS, DetachKeysTransform, parseDetachKeys } from './detach-keys';

/** Feed chunks one by one; return what came out and whether 'detach' fired. */
async function run(keys: Buffer, chunks: Buffer[], keystrokesOnly: boolean): Promise<{ out: Buffer; detached: boolean }> {
  const t = new DetachKeysTransform(keys, { keystrokesOnly });
  const out: Buffer[] = [];
  let detached = false;
  t.on('detach', () => (detached = true));
  t.on('data', (d: Buffer) => out.push(d));
  const ended = new Promise((r) => t.on('end', r));
  for (const c of chunks) t.write(c);
  t.end();
  await ended;
  return { out: Buffer.concat(out), detached };
}

const bytes = (...b: number[]) => Buffer.from(b);

/** The oracle: first occurrence of `keys` inside `hay`, a plain substring search. */
function firstIndex(hay: Buffer, keys: Buffer): number {
  return keys.length === 0 ? -1 : hay.indexOf(keys);
}

describe('parseDetachKeys', () => {
  it('parses Docker specs', () => {
    expect([...parseDetachKeys(DEFAULT_DETACH_KEYS)]).toEqual([16, 17]);
    expect([...parseDetachKeys('')]).toEqual([16, 17]);
    expect([...parseDetachKeys('ctrl-@,ctrl-a,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')]).toEqual([0, 1, 26, 27, 28, 29, 30, 31]);
    expect([...parseDetachKeys('a,b,DEL')]).toEqual([97, 98, 127]);
  });

  it.each(['ctrl-Z', 'ctrl-', 'ab', 'ctrl-p,,a', 'ctrl-pq', 'del', 'ctrl-1', ',', 'a,'] )('rejects %j with dockerd message', (spec) => {
    expect(() => parseDetachKeys(spec)).toThrow(InvalidParameterError);
    expect(() => parseDetachKeys(spec)).toThrow(`Invalid detach keys (${spec}) provided`);
  });
});

describe('DetachKeysTransform', () => {
  const keys = parseDetachKeys(DEFAULT_DETACH_KEYS);

  it('passes typed input through and detaches on ctrl-p ctrl-q typed as keystrokes', async () => {
    const chunks = [...'ls\n'].map((c) => Buffer.from(c)).concat([bytes(16), bytes(17), Buffer.from('after')]);
    expect(await run(keys, chunks, true)).toEqual({ out: Buffer.from('ls\n'), detached: true });
  });

  it('releases a held ctrl-p when the next key is not ctrl-q', async () => {
    expect(await run(keys, [bytes(16), Buffer.from('x')], true)).toEqual({ out: bytes(16, 120), detached: false });
    expect(await run(keys, [bytes(16)], true)).toEqual({ out: bytes(16), detached: false });
  });

  it('with keystrokesOnly, the sequence inside a pasted chunk passes through (Docker rule)', async () => {
    expect(await run(keys, [bytes(65, 16, 17, 66)], true)).toEqual({ out: bytes(65, 16, 17, 66), detached: false });
    expect(await run(keys, [bytes(16), bytes(17, 66)], true)).toEqual({ out: bytes(16, 17, 66), detached: false });
  });

  it('a false start followed by the real sequence detaches', async () => {
    expect(await run(keys, [bytes(16), bytes(16), bytes(17)], true)).toEqual({ out: bytes(16), detached: true });
    const aab = Buffer.from('aab');
    expect(await run(aab, [Buffer.from('xaaab')], false)).toEqual({ out: Buffer.from('xa'), detached: true });
  });

  it('an empty key list never detaches', async () => {
    expect(await run(Buffer.alloc(0), [bytes(16), bytes(17)], true)).toEqual({ out: bytes(16, 17), detached: false });
  });

  it('anywhere mode finds the first occurrence under any chunking (property, substring oracle)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 3 }).map((a) => Buffer.from(a.map((b) => b % 4))),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 6 }).map((a) => Buffer.from(a.map((b) => b % 4))), { maxLength: 12 }),
        async (k, chunks) => {
          const all = Buffer.concat(chunks);
          const at = firstIndex(all, k);
          const got = await run(k, chunks, false);
          expect(got).toEqual(at < 0 ? { out: all, detached: false } : { out: all.subarray(0, at), detached: true });
        },
      ),
    );
  });

  it('keystrokes mode detaches iff the sequence lies within a run of one-byte chunks (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 3 }).map((a) => Buffer.from(a.map((b) => b % 3))),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 3 }).map((a) => Buffer.from(a.map((b) => b % 3))), { maxLength: 14 }),
        async (k, chunks) => {
          // Oracle: scan runs of consecutive single-byte chunks.
          let expected: { out: Buffer; detached: boolean } = { out: Buffer.concat(chunks), detached: false };
          let before = 0;
          for (let i = 0; i < chunks.length && !expected.detached; ) {
            if (chunks[i]!.length !== 1) {
              before += chunks[i]!.length;
              i++;
              continue;
            }
            let j = i;
            while (j < chunks.length && chunks[j]!.length === 1) j++;
            const run1 = Buffer.concat(chunks.slice(i, j));
            const at = firstIndex(run1, k);
            if (at >= 0) expected = { out: Buffer.concat(chunks).subarray(0, before + at), detached: true };
            before += run1.length;
            i = j;
          }
          expect(await run(k, chunks, true)).toEqual(expected);
        },
      ),
    );
  });
});
