import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8sLogTailer, type LogPosition } from './k8s-log';

/** A k8s-file log line, as the monitors write it. */
const line = (stream: 'stdout' | 'stderr', tag: 'F' | 'P', content: Buffer | string) =>
  Buffer.concat([Buffer.from(`2026-11-28T21:00:00.000000000Z ${stream} ${tag} `), Buffer.from(content), Buffer.from('\n')]);

async function all(s: PassThrough): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('following a k8s-file log', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsd-k8slog-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('starts without waiting for a reader, whatever is already there', async () => {
    const path = join(tmp, 'big');
    const content = 'x'.repeat(1000);
    await writeFile(path, Buffer.concat(Array.from({ length: 2000 }, () => line('stdout', 'F', content))));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const t = new K8sLogTailer(path, { stdout, stderr });
    await t.start(); // 2 MB waiting and nobody reading yet: this must not block
    const [out] = await Promise.all([all(stdout), all(stderr), t.finish()]);
    expect(out.toString()).toBe(`${content}\n`.repeat(2000));
  });

  it('keeps bytes as they were: characters across its 64 KiB reads, partial lines, binary, both streams', async () => {
    const path = join(tmp, 'bytes');
    // A 4-byte character straddles the first read boundary: 2 bytes before it, 2 after.
    const prefix = line('stdout', 'F', '').length - 1;
    const before = 'a'.repeat(64 * 1024 - prefix - 2);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]);
    await writeFile(path, Buffer.concat([line('stdout', 'F', `${before}😀z`), line('stdout', 'P', 'no newline '), line('stdout', 'F', 'then one'), line('stderr', 'F', binary), line('stdout', 'P', 'tail')]));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const t = new K8sLogTailer(path, { stdout, stderr });
    await t.start();
    const [out, err] = await Promise.all([all(stdout), all(stderr), t.finish()]);
    expect(out.toString('utf8')).toBe(`${before}😀z\nno newline then one\ntail`);
    expect(err).toEqual(Buffer.concat([binary, Buffer.from('\n')]));
  });

  it('follows a replaced file, and a new reader resumes at the saved line', async () => {
    const path = join(tmp, 'rot');
    const pos = join(tmp, 'rot.pos');
    await writeFile(path, Buffer.concat([line('stdout', 'F', 'one'), line('stdout', 'F', 'two')]));
    const s1 = new PassThrough();
    const t1 = new K8sLogTailer(path, { stdout: s1, stderr: null }, pos);
    await t1.start();
    let seen = '';
    s1.on('data', (d: Buffer) => (seen += d.toString()));
    for (let i = 0; i < 100 && seen !== 'one\ntwo\n'; i++) await new Promise((r) => setTimeout(r, 10));
    // The monitor replaces the file at its size limit: the tail moves on to the new one.
    await writeFile(`${path}.tmp`, line('stdout', 'F', 'three'));
    await rename(`${path}.tmp`, path);
    await t1.pump();
    expect(seen).toBe('one\ntwo\nthree\n');
    await t1.close(); // the daemon goes away; the file grows meanwhile
    await appendFile(path, Buffer.concat([line('stdout', 'P', 'fo'), line('stdout', 'F', 'ur')]));
    const saved = JSON.parse(await import('node:fs/promises').then((f) => f.readFile(pos, 'utf8'))) as LogPosition;
    const s2 = new PassThrough();
    const t2 = new K8sLogTailer(path, { stdout: s2, stderr: null }, pos, saved);
    await t2.start();
    const [rest] = await Promise.all([all(s2), t2.finish()]);
    expect(rest.toString()).toBe('four\n');
  });
});
