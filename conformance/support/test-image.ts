import { readFileSync } from 'node:fs';
import * as tar from 'tar-stream';
import type { SuiteContext } from '../harness';

/** Debian's busybox-static: a real binary on Linux, an applet by name in the emulator. */
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'echo', 'grep', 'ls', 'mkdir', 'rm', 'sleep', 'test', 'touch', 'true', 'false', 'ln', 'id', 'wc', 'env'];
const LOCAL_IMAGE = 'tsd-test-busybox:latest';

const made = new WeakMap<object, Promise<string>>();

/**
 * An image with a busybox-like userland for container cases, once per daemon: the fake
 * backend pulls busybox from its offline hub; a real backend imports a one-layer image built
 * from the host's static busybox (bin/busybox, applet symlinks, /etc/passwd, /tmp).
 */
export function testImage(ctx: SuiteContext): Promise<string> {
  const dut = ctx.get();
  let p = made.get(dut);
  if (!p) {
    p = ctx.backend === 'fake' ? pullBusybox(ctx) : importBusybox(ctx);
    made.set(dut, p);
  }
  return p;
}

async function pullBusybox(ctx: SuiteContext): Promise<string> {
  const res = await ctx.get().client.raw('POST', '/images/create', { query: { fromImage: 'busybox', tag: 'latest' } });
  if (res.status !== 200 || res.body.toString().includes('"error"')) throw new Error(`pull busybox failed: ${res.status} ${res.body.toString()}`);
  return 'busybox:latest';
}

async function importBusybox(ctx: SuiteContext): Promise<string> {
  const [repo, tag] = LOCAL_IMAGE.split(':') as [string, string];
  const res = await ctx.get().client.raw('POST', '/images/create', { query: { fromSrc: '-', repo, tag }, body: await busyboxRootfs(), headers: { 'Content-Type': 'application/x-tar' } });
  if (res.status !== 200 || res.body.toString().includes('"error"')) throw new Error(`import of the test image failed: ${res.status} ${res.body.toString()}`);
  return LOCAL_IMAGE;
}

/** The root filesystem tar of the test image. */
export async function busyboxRootfs(): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date(0);
  const dir = (name: string, mode = 0o755) => pack.entry({ name, type: 'directory', mode, mtime });
  dir('bin/');
  pack.entry({ name: 'bin/busybox', mode: 0o755, mtime }, readFileSync(BUSYBOX));
  for (const a of APPLETS) pack.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mtime });
  dir('etc/');
  pack.entry({ name: 'etc/passwd', mode: 0o644, mtime }, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  pack.entry({ name: 'etc/group', mode: 0o644, mtime }, 'root:x:0:\nnogroup:x:65534:\n');
  dir('tmp/', 0o1777);
  dir('root/', 0o700);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
