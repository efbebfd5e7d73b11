import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from './digest';
import { createEmulatedRegistry, RegistryStore, seedBuiltinImages, startRegistryServer } from './index';
import { TestRegistryClient } from './test-client';

describe('registry server mode', () => {
  it('serves a bare store on a free loopback port, streaming a large chunked upload and download', async () => {
    const store = new RegistryStore();
    const server = await startRegistryServer({ host: '127.0.0.1', port: 0, store });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const client = new TestRegistryClient((request) => fetch(request), server.url);
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) % 251);
      const digest = await client.pushBlob('big/blob', big, 'chunked', 1024 * 1024);
      expect(digest).toBe(sha256Digest(big));
      expect(sha256Digest(await client.getBlob('big/blob', digest))).toBe(digest);
      const head = await client.send('HEAD', `/v2/big/blob/blobs/${digest}`);
      expect(head.headers.get('content-length')).toBe(String(big.byteLength));
    } finally {
      await server.close();
    }
  });

  it('closes while a keep-alive connection is open', async () => {
    const registry = await createEmulatedRegistry({ builtin: false });
    const server = await startRegistryServer({ registry });
    const response = await fetch(`${server.url}/v2/`);
    expect(response.status).toBe(200);
    await server.close();
    await expect(fetch(`${server.url}/v2/`)).rejects.toThrow();
  });

  it('refuses to start with neither a registry nor a store', async () => {
    await expect(startRegistryServer({})).rejects.toThrow(/either `registry` or `store`/);
  });

  describe('with TLS', () => {
    let dir: string;
    let cert: string;
    let key: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'tsdocker-registry-tls-'));
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
          '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1',
          '-addext', 'subjectAltName=IP:127.0.0.1'],
        { stdio: 'ignore' },
      );
      cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      key = readFileSync(join(dir, 'key.pem'), 'utf8');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('serves HTTPS with the given certificate', async () => {
      const store = new RegistryStore();
      await seedBuiltinImages(store);
      const server = await startRegistryServer({ store, tls: { cert, key } });
      try {
        expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
          (resolve, reject) => {
            httpsGet(`${server.url}/v2/library/busybox/tags/list`, { ca: cert }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
              res.on('error', reject);
            }).on('error', reject);
          },
        );
        expect(status).toBe(200);
        expect(headers['docker-distribution-api-version']).toBe('registry/2.0');
        expect(JSON.parse(body)).toMatchObject({ name: 'library/busybox', tags: expect.arrayContaining(['latest']) });
      } finally {
        await server.close();
      }
    });
  });
});
