import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeJsonLogLine, encodeJsonLogLine, jsonStringFromBytes } from './json-line';
import { LineSplitter, MAX_MESSAGE_BYTES } from './line-splitter';

const T = 1_795_892_943_952_193_483n; // 2026-11-28T19:09:03.952193483Z

describe('json-file line encoding', () => {
  it('writes the bytes dockerd 20.10 wrote for the same output', () => {
    // Lines captured from dockerd's <id>-json.log.
    expect(encodeJsonLogLine({ stream: 'stdout', line: Buffer.from('tab\there "q" \\ \x01 <>&\n'), time: T }).toString()).toBe(
      '{"log":"tab\\u0009here \\"q\\" \\\\ \\u0001 \\u003c\\u003e\\u0026\\n","stream":"stdout","time":"2026-11-28T19:09:03.952193483Z"}\n',
    );
    expect(encodeJsonLogLine({ stream: 'stdout', line: Buffer.from([0xff, 0xfe, 0x20, 0x62, 0x0a]), time: T }).toString()).toBe(
      '{"log":"\\ufffd\\ufffd b\\n","stream":"stdout","time":"2026-11-28T19:09:03.952193483Z"}\n',
    );
    expect(encodeJsonLogLine({ stream: 'stderr', line: Buffer.from('partial'), time: 1_795_892_943_991_814_600n }).toString()).toBe(
      '{"log":"partial","stream":"stderr","time":"2026-11-28T19:09:03.9918146Z"}\n',
    );
  });

  it('escapes like Go: \\r, U+2028/9, valid non-ASCII raw, surrogates and overlongs invalid', () => {
    expect(jsonStringFromBytes(Buffer.from('a\rb\u2028c\u2029é€😀'))).toBe('"a\\rb\\u2028c\\u2029é€😀"');
    expect(jsonStringFromBytes(Buffer.from([0xed, 0xa0, 0x80]))).toBe('"\\ufffd\\ufffd\\ufffd"');
    expect(jsonStringFromBytes(Buffer.from([0xc0, 0xaf]))).toBe('"\\ufffd\\ufffd"');
    expect(jsonStringFromBytes(Buffer.from([0xe2, 0x82]))).toBe('"\\ufffd\\ufffd"');
    expect(jsonStringFromBytes(Buffer.from('\t'), true)).toBe('"\\t"');
  });

  it('writes attrs sorted between stream and time', () => {
    const line = encodeJsonLogLine({ stream: 'stdout', line: Buffer.from('x\n'), time: T, attrs: { zeta: '1', alpha: '<2>' } }).toString();
    expect(line).toBe('{"log":"x\\n","stream":"stdout","attrs":{"alpha":"\\u003c2\\u003e","zeta":"1"},"time":"2026-11-28T19:09:03.952193483Z"}\n');
    expect(decodeJsonLogLine(line.trimEnd())?.attrs).toEqual({ alpha: '<2>', zeta: '1' });
  });

  it('decodes what it encodes; valid UTF-8 round-trips exactly (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('stdout' as const, 'stderr' as const), (text, stream) => {
        const line = Buffer.from(text);
        const encoded = encodeJsonLogLine({ stream, line, time: T });
        expect(encoded.indexOf(0x0a)).toBe(encoded.length - 1);
        const back = decodeJsonLogLine(encoded.subarray(0, -1));
        expect(back).toEqual({ stream, time: T, line });
      }),
    );
  });

  it('rejects lines that are not log entries', () => {
    for (const bad of ['', '{', '[]', '{"log":"x","stream":"stdin","time":"2020-01-01T00:00:00Z"}', '{"log":"x","stream":"stdout"}'])
      expect(decodeJsonLogLine(bad)).toBeUndefined();
  });
});

describe('LineSplitter (dockerd copier semantics)', () => {
  it('cuts a 40000-byte line into 16 KiB pieces sharing the first piece time, as dockerd did', () => {
    const s = new LineSplitter();
    const out = [...s.push(Buffer.alloc(20000, 97), 1n), ...s.push(Buffer.concat([Buffer.alloc(20000, 97), Buffer.from('\nnext')]), 2n)];
    expect(out.map((m) => [m.line.length, m.partial, m.time])).toEqual([
      [16384, true, 1n],
      [16384, true, 1n],
      [7232, false, 1n],
    ]);
    expect(s.end(3n)).toEqual([{ line: Buffer.from('next'), partial: true, time: 3n }]);
    expect(s.end(4n)).toEqual([]);
  });

  it('a line of exactly 16 KiB is a full piece then an empty last piece', () => {
    const s = new LineSplitter();
    const out = s.push(Buffer.concat([Buffer.alloc(MAX_MESSAGE_BYTES, 98), Buffer.from('\n')]), 5n);
    expect(out.map((m) => [m.line.length, m.partial])).toEqual([
      [16384, true],
      [0, false],
    ]);
  });

  it('matches a simple model under any chunking (property)', () => {
    const max = 8;
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '\n'), { maxLength: 60 }), fc.array(fc.nat(60), { maxLength: 10 }), (chars, cuts) => {
        const text = chars.join('');
        // Model: each line cut in pieces of `max` (a line of exactly k*max gets an empty last piece).
        const expected: Array<[string, boolean]> = [];
        const lines = text.split('\n');
        lines.forEach((line, i) => {
          const last = i === lines.length - 1;
          let rest = line;
          while (rest.length >= max) {
            expected.push([rest.slice(0, max), true]);
            rest = rest.slice(max);
          }
          if (!last) expected.push([rest, false]);
          else if (rest.length > 0) expected.push([rest, true]);
        });
        const s = new LineSplitter(max);
        const got: Array<[string, boolean]> = [];
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        let at = 0;
        for (const p of [...points, text.length]) {
          for (const m of s.push(Buffer.from(text.slice(at, p)), 0n)) got.push([m.line.toString(), m.partial]);
          at = p;
        }
        for (const m of s.end(0n)) got.push([m.line.toString(), m.partial]);
        expect(got).toEqual(expected);
      }),
    );
  });
});
