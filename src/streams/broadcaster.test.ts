import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Broadcaster } from './broadcaster';
import { encodeFrame } from './stdcopy';

function sink() {
  const parts: Buffer[] = [];
  const w = new PassThrough();
  w.on('data', (d: Buffer) => parts.push(d));
  return { w, text: () => Buffer.concat(parts).toString('latin1'), bytes: () => Buffer.concat(parts) };
}

/** A writable that never finishes a write: a client that stopped reading. */
function stuck() {
  return new Writable({ highWaterMark: 16, write() {} });
}

describe('Broadcaster', () => {
  it('sends each stream only to subscribers that asked for it, raw or multiplexed', () => {
    const b = new Broadcaster();
    const both = sink();
    const outOnly = sink();
    const muxed = sink();
    b.attach(both.w, { stdout: true, stderr: true });
    b.attach(outOnly.w, { stdout: true, stderr: false });
    b.attach(muxed.w, { stdout: true, stderr: true, multiplex: true });
    b.write('stdout', Buffer.from('o1'));
    b.write('stderr', Buffer.from('e1'));
    b.write('stdout', Buffer.alloc(0));
    expect(both.text()).toBe('o1e1');
    expect(outOnly.text()).toBe('o1');
    expect(muxed.bytes()).toEqual(Buffer.concat([encodeFrame('stdout', 'o1'), encodeFrame('stderr', 'e1')]));
    expect(b.size).toBe(3);
  });

  it('drops a subscriber that falls behind without affecting the others or blocking the writer', async () => {
    const dropped: number[] = [];
    const b = new Broadcaster({ maxBufferedBytes: 100, onDrop: ({ bufferedBytes }) => dropped.push(bufferedBytes) });
    const slow = stuck();
    const fast = sink();
    const slowSub = b.attach(slow, { stdout: true, stderr: true });
    b.attach(fast.w, { stdout: true, stderr: true });
    for (let i = 0; i < 50; i++) b.write('stdout', Buffer.alloc(10, 97)); // returns synchronously every time
    expect(await slowSub.done).toBe('dropped');
    expect(slow.destroyed).toBe(true);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toBeGreaterThan(100);
    expect(fast.text()).toBe('a'.repeat(500));
    expect(b.size).toBe(1);
  });

  it('ends subscribers when the output ends, except those attached with end:false', async () => {
    const b = new Broadcaster();
    const ends = sink();
    const keeps = sink();
    const s1 = b.attach(ends.w, { stdout: true, stderr: true });
    const s2 = b.attach(keeps.w, { stdout: true, stderr: true, end: false });
    b.end();
    expect(await s1.done).toBe('ended');
    expect(await s2.done).toBe('ended');
    expect(ends.w.writableEnded).toBe(true);
    expect(keeps.w.writableEnded).toBe(false);
    b.write('stdout', Buffer.from('late'));
    expect(keeps.text()).toBe('');
    const late = sink();
    expect(await b.attach(late.w, { stdout: true, stderr: true }).done).toBe('ended');
    expect(late.w.writableEnded).toBe(true);
  });

  it('removes subscribers that close or detach', async () => {
    const b = new Broadcaster();
    const a = sink();
    const c = sink();
    const sa = b.attach(a.w, { stdout: true, stderr: true });
    const sc = b.attach(c.w, { stdout: true, stderr: true });
    a.w.destroy();
    expect(await sa.done).toBe('closed');
    sc.detach();
    expect(await sc.done).toBe('detached');
    b.write('stdout', Buffer.from('x'));
    expect(c.text()).toBe('');
    expect(b.size).toBe(0);
  });

  it('consume() reads both sources and ends when both are over', async () => {
    const b = new Broadcaster();
    const out = new PassThrough();
    const err = new PassThrough();
    const s = sink();
    const sub = b.attach(s.w, { stdout: true, stderr: true, multiplex: true });
    const consumed = b.consume({ stdout: out, stderr: err });
    out.write('hello\n');
    err.end('oops\n');
    out.end();
    await consumed;
    expect(await sub.done).toBe('ended');
    expect(b.isEnded).toBe(true);
    const frames = s.bytes();
    expect(frames.includes(encodeFrame('stdout', 'hello\n'))).toBe(true);
    expect(frames.includes(encodeFrame('stderr', 'oops\n'))).toBe(true);
  });
});
