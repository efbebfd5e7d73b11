import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BadFrameError,
  DaemonStreamError,
  FrameDecoder,
  demuxStream,
  encodeFrame,
  frameHeader,
  muxWriter,
  stdCopy,
  type Frame,
  type StreamName,
} from './stdcopy';

const collect = (s: NodeJS.ReadableStream) => {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return () => Buffer.concat(parts);
};

/** Split `buf` at the given cut points (any chunking a socket may produce). */
function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(buf.subarray(at, p));
    at = p;
  }
  out.push(buf.subarray(at));
  return out;
}

describe('stdcopy framing', () => {
  it('writes the header dockerd writes: stream byte, three zeros, big-endian size', () => {
    expect([...frameHeader('stdout', 7)]).toEqual([1, 0, 0, 0, 0, 0, 0, 7]);
    expect([...frameHeader('stderr', 0x4000)]).toEqual([2, 0, 0, 0, 0, 0, 0x40, 0]);
    expect([...frameHeader('stdin', 1)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect([...frameHeader('systemErr', 0x01020304)]).toEqual([3, 0, 0, 0, 1, 2, 3, 4]);
    // Bytes observed from dockerd 20.10 for `echo out:hi` on stdout.
    expect(encodeFrame('stdout', 'out:hi\n')).toEqual(Buffer.from('\x01\x00\x00\x00\x00\x00\x00\x07out:hi\n', 'latin1'));
  });

  it('rejects sizes a uint32 cannot carry', () => {
    expect(() => frameHeader('stdout', -1)).toThrow(RangeError);
    expect(() => frameHeader('stdout', 2 ** 32)).toThrow(RangeError);
  });

  it('muxWriter frames each write on its stream and skips empty writes', async () => {
    const sink = new PassThrough();
    const got = collect(sink);
    const mux = muxWriter(sink);
    await new Promise<void>((r) => mux.stdout.write('a', () => r()));
    await new Promise<void>((r) => mux.stderr.write(Buffer.alloc(0), () => r()));
    await new Promise<void>((r) => mux.stderr.write('bc', () => r()));
    mux.systemError('boom');
    expect(got()).toEqual(Buffer.concat([encodeFrame('stdout', 'a'), encodeFrame('stderr', 'bc'), encodeFrame('systemErr', 'boom')]));
    expect(sink.writableEnded).toBe(false);
  });

  it('decodes any sequence of frames under any chunking (property)', () => {
    const frameArb = fc.record({
      stream: fc.constantFrom<StreamName>('stdin', 'stdout', 'stderr', 'systemErr'),
      payload: fc.uint8Array({ minLength: 0, maxLength: 64 }).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(2000), { maxLength: 30 }), (frames, cuts) => {
        const wire = Buffer.concat(frames.map((f) => encodeFrame(f.stream, f.payload)));
        const decoder = new FrameDecoder();
        const out: Frame[] = [];
        for (const part of chunked(wire, cuts)) out.push(...decoder.push(part));
        expect(decoder.pending).toBe(0);
        // Empty payloads encode to nothing, as dockerd's writer does.
        expect(out).toEqual(frames.filter((f) => f.payload.length > 0));
      }),
    );
  });

  it('reports an unknown stream byte as dockerd does', () => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 65]))).toThrow(new BadFrameError(9));
    expect(() => decoder.push(Buffer.alloc(0))).toThrow(BadFrameError);
  });

  it('stdCopy splits stdout and stderr and stops with the daemon error on a systemErr frame', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const gotOut = collect(out);
    const gotErr = collect(err);
    const wire = Buffer.concat([encodeFrame('stdout', 'one\n'), encodeFrame('stderr', 'two\n'), encodeFrame('stdin', 'three\n')]);
    const counts = await stdCopy(out, err, Readable.from(chunked(wire, [3, 9, 15])));
    expect(counts).toEqual({ stdout: 10, stderr: 4 });
    expect(gotOut().toString()).toBe('one\nthree\n');
    expect(gotErr().toString()).toBe('two\n');

    const failing = Buffer.concat([encodeFrame('stdout', 'x'), encodeFrame('systemErr', 'container died'), encodeFrame('stdout', 'y')]);
    await expect(stdCopy(out, err, Readable.from([failing]))).rejects.toThrow('error from daemon in stream: container died');
  });

  it('stdCopy and demuxStream reject a stream cut inside a frame', async () => {
    const cut = encodeFrame('stdout', 'hello').subarray(0, 10);
    await expect(stdCopy(new PassThrough(), new PassThrough(), Readable.from([cut]))).rejects.toThrow(/ended inside a frame/);
    const demux = demuxStream();
    const done = new Promise((_, reject) => demux.on('error', reject));
    demux.resume();
    demux.end(cut);
    await expect(done).rejects.toThrow(/ended inside a frame/);
  });

  it('demuxStream yields frames and errors with DaemonStreamError on systemErr', async () => {
    const demux = demuxStream();
    const frames: Frame[] = [];
    const finished = new Promise<unknown>((resolve) => {
      demux.on('data', (f: Frame) => frames.push(f));
      demux.on('error', resolve);
    });
    demux.write(encodeFrame('stderr', 'e'));
    demux.end(encodeFrame('systemErr', 'bad'));
    const err = await finished;
    expect(err).toBeInstanceOf(DaemonStreamError);
    expect((err as DaemonStreamError).daemonMessage).toBe('bad');
    expect(frames).toEqual([{ stream: 'stderr', payload: Buffer.from('e') }]);
  });
});
