/**
 * "Killing the daemon during a pull leaves a store that starts cleanly and a pull that then
 * succeeds": the built daemon (fake backend) pulls a 2-layer image of a few MB from an
 * emulated registry whose blob answers trickle out; it is SIGKILLed once a layer is
 * downloading, restarted on the same roots, and must list no image, serve `docker images`,
 * hold no download leftovers, and then pull the image completely.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createEmulatedRegistry, MediaType, startRegistryServer, type EmulatedRegistry, type RegistryServer } from '../fakes/registry';
import { buildTar, gzip } from '../fakes/registry/tar';
import { sha256 } from '../src/image/digest';
import { dockerCli, hasDockerCli } from './harness';
import { cleanup, ensureBuilt, httpGet, makeTempRoot, spawnDaemon } from './support/spawn-daemon';

let registry: EmulatedRegistry;
let server: RegistryServer;
/** While true, blob bodies are sent 32 KB at a time, 40 ms apart. */
let slow = true;

/** Puts `repo:tag` (schema 2, linux/amd64) with one layer per content string into the store. */
async function seedImage(repo: string, tag: string, contents: string[]): Promise<void> {
  const layers = [];
  const diffIds = [];
  for (const [i, content] of contents.entries()) {
    const tar = await buildTar([{ path: `data${i}.bin`, type: 'file', mode: 0o644, content }]);
    const blob = gzip(tar);
    diffIds.push(sha256(tar));
    layers.push({ mediaType: MediaType.dockerLayer, size: blob.length, digest: registry.store.putBlob(repo, blob) });
  }
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds }, created: '2024-01-01T00:00:00Z' }));
  const configDigest = registry.store.putBlob(repo, config);
  const manifest = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, size: config.length, digest: configDigest }, layers };
  registry.store.putManifest(repo, MediaType.dockerManifest, new TextEncoder().encode(JSON.stringify(manifest)), tag);
}

/** The same answer, its body trickling out while `slow` is set. */
function trickle(res: Response): Response {
  if (!res.body || !slow) return res;
  const reader = res.body.getReader();
  let pending: Uint8Array = new Uint8Array(0);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending.length === 0) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        pending = value;
      }
      await new Promise((r) => setTimeout(r, 40));
      controller.enqueue(pending.subarray(0, 32 * 1024));
      pending = pending.subarray(32 * 1024);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: res.status, headers: res.headers });
}

beforeAll(async () => {
  await ensureBuilt();
  registry = await createEmulatedRegistry({ builtin: false });
  await seedImage('big/image', 'v1', [randomBytes(16 * 1024).toString('base64'), randomBytes(1536 * 1024).toString('base64')]);
  server = await startRegistryServer({
    registry: {
      fetch: async (req) => {
        const res = await registry.fetch(req);
        return /\/blobs\/sha256:/.test(new URL(req.url).pathname) ? trickle(res) : res;
      },
    },
  });
}, 180_000);
afterEach(cleanup);
afterAll(async () => {
  await server?.close();
});

/** Starts a pull on the daemon's socket; resolves once a progress line matches `until`. */
function startPull(socket: string, ref: string, until: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const at = ref.lastIndexOf(':');
    const path = `/images/create?fromImage=${encodeURIComponent(ref.slice(0, at))}&tag=${ref.slice(at + 1)}`;
    const req = request({ socketPath: socket, path, method: 'POST' }, (res) => {
      let seen = '';
      res.setEncoding('utf8').on('data', (s: string) => {
        seen += s;
        if (until.test(seen)) resolve();
      });
      res.on('error', () => undefined);
      res.on('close', () => reject(new Error(`the pull ended before ${until}: ${seen}`)));
    });
    req.on('error', () => undefined);
    req.end();
  });
}

it('a daemon killed during a pull restarts with a clean store, and the pull then succeeds', async () => {
  const root = makeTempRoot();
  const ref = `${server.address}/big/image:v1`;
  slow = true;
  const first = await spawnDaemon({ root });
  await startPull(first.socket, ref, /"status":"Downloading"/);
  const exit = await first.stop('SIGKILL');
  expect(exit.signal).toBe('SIGKILL');

  slow = false;
  const second = await spawnDaemon({ root });
  const list = await httpGet({ socketPath: second.socket }, '/images/json');
  expect(list.status).toBe(200);
  expect(JSON.parse(list.body)).toEqual([]);
  if (hasDockerCli) {
    const images = await dockerCli(second.host, ['images']);
    expect(images.code, images.stderr).toBe(0);
    expect(images.stdout.trim().split('\n')).toHaveLength(1);
  }
  expect(readdirSync(join(root, 'g', 'tmp'))).toEqual([]);

  if (hasDockerCli) {
    const pulled = await dockerCli(second.host, ['pull', ref]);
    expect(pulled.code, pulled.stderr + pulled.stdout).toBe(0);
  } else {
    await startPull(second.socket, ref, /Status: Downloaded newer image/);
  }
  const after = JSON.parse((await httpGet({ socketPath: second.socket }, '/images/json')).body) as { RepoTags: string[] }[];
  expect(after.map((i) => i.RepoTags)).toEqual([[ref]]);
  await second.stop();
}, 120_000);
