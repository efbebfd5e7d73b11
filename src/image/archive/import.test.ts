import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidParameterError, NotFoundError } from '../../errors';
import { hostPlatform } from '../platform';
import { importImage, type ImportOptions } from './import';
import { makeStack, makeTar, progressLog, rootfsMembers, type Stack } from './test-fixtures';

describe('docker import', () => {
  let s: Stack;
  let rootfs: Buffer;
  beforeEach(async () => {
    s = await makeStack();
    rootfs = await makeTar(rootfsMembers());
  });
  afterEach(() => s.close());

  const run = async (body: Buffer | { url: string }, opts: Partial<ImportOptions> = {}) => {
    const p = progressLog();
    await importImage(s.deps, Buffer.isBuffer(body) ? { body: Readable.from([body]) } : body, { changes: [], progress: p.sink, ...opts });
    return p.messages;
  };
  const counts = () => [s.service.images.all().length, s.service.layers.all().length, s.service.refs.all().length];

  it('makes a one-layer image as dockerd does, from a plain or a gzip tar', async () => {
    const out = await run(rootfs, { repo: 'mine/base', tag: 'v1', changes: ['CMD ["sh"]', 'ENV PATH=/bin', 'LABEL org=x'] });
    expect(out).toHaveLength(1);
    const id = out[0]!.status!;
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    const img = s.service.resolve('mine/base:v1');
    expect(img.id).toBe(id);
    const c = img.config;
    expect(c.rootfs.diff_ids).toHaveLength(1);
    expect(c.comment).toBe('Imported from -');
    expect(c.history).toEqual([{ created: c.created, comment: 'Imported from -' }]);
    expect(c.os).toBe('linux');
    expect(c.architecture).toBe(hostPlatform().architecture);
    expect(c.config).toMatchObject({ Cmd: ['sh'], Env: ['PATH=/bin'], Labels: { org: 'x' }, Entrypoint: null });
    expect(Object.keys(JSON.parse(img.raw.toString()))).toEqual(['architecture', 'comment', 'config', 'container_config', 'created', 'docker_version', 'history', 'os', 'rootfs']);
    expect(s.events.map((e) => [e.Action, e.Actor.Attributes.name])).toEqual([
      ['tag', 'mine/base:v1'],
      ['import', id],
    ]);
    expect(s.events[1]!.Actor.Attributes.org).toBe('x');

    const gz = await run(gzipSync(rootfs), { message: 'from gzip', platform: 'linux/arm64/v8' });
    const img2 = s.service.resolve(gz[0]!.status!);
    expect(img2.config.rootfs.diff_ids).toEqual(c.rootfs.diff_ids);
    expect(img2.config).toMatchObject({ comment: 'from gzip', architecture: 'arm64', variant: 'v8' });
    expect(s.service.layers.all()).toHaveLength(1);
  });

  it.each([
    ['a bzip2 body', () => Buffer.from('BZh91AY&SY\x01\x02\x03\x04'), {}, /bzip2-compressed: only plain and gzip/],
    ['an xz body', () => Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]), {}, /xz-compressed/],
    ['an empty body', () => Buffer.alloc(0), {}, /the imported archive is empty/],
    ['an invalid change', () => rootfs, { changes: ['RUN rm -rf /'] }, /run is not a valid change command/],
    ['a digest repo', () => rootfs, { repo: `x@sha256:${'a'.repeat(64)}` }, /cannot import digest reference/],
    ['a bad tag', () => rootfs, { repo: 'x', tag: 'bad tag' }, /invalid tag format/],
    ['a windows platform', () => rootfs, { platform: 'windows/amd64' }, /operating system "windows" is not supported/],
    ['a tar escaping its root', async () => makeTar([{ name: '../../etc/evil', content: 'x' }]), {}, /outside of the layer/],
  ] as const)('refuses %s and keeps nothing', async (_n, body, opts, message) => {
    await expect(run(await body(), opts as Partial<ImportOptions>)).rejects.toThrow(message);
    await expect(run(await body(), opts as Partial<ImportOptions>)).rejects.toBeInstanceOf(InvalidParameterError);
    expect(counts()).toEqual([0, 0, 0]);
    expect(s.events).toEqual([]);
  });

  describe('from a URL', () => {
    let server: Server;
    let base: string;
    beforeEach(async () => {
      server = createServer((req, res) => {
        if (req.url === '/rootfs.tar.gz') {
          const body = gzipSync(rootfs);
          res.writeHead(200, { 'content-length': body.length });
          res.end(body);
        } else if (req.url === '/moved') {
          res.writeHead(302, { location: '/rootfs.tar.gz' });
          res.end();
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('no such file\n');
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(() => new Promise<void>((r) => server.close(() => r())));

    it('downloads, reports progress and names the source', async () => {
      const out = await run({ url: `http://${base}/moved` }, { repo: 'web' });
      expect(out[0]).toEqual({ status: `Downloading from http://${base}/moved` });
      expect(out.some((m) => m.status === 'Importing' && m.id === undefined && m.progressDetail?.total)).toBe(true);
      const img = s.service.resolve('web:latest');
      expect(img.id).toBe(out.at(-1)!.status);
      expect(img.config.comment).toBe(`Imported from http://${base}/moved`);
    });

    it('adds http:// to a bare address, and maps a 404 to NotFound', async () => {
      await expect(run({ url: `${base}/missing` })).rejects.toThrow(NotFoundError);
      await expect(run({ url: `${base}/missing` })).rejects.toThrow(`failed to GET http://${base}/missing with status 404 Not Found: no such file`);
      await expect(run({ url: 'ftp://example.invalid/x' })).rejects.toThrow(/unsupported import source URL scheme "ftp"/);
      expect(counts()).toEqual([0, 0, 0]);
    });
  });
});
