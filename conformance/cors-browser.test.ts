/**
 * `--api-cors-header` seen from a real browser (Debian's chromium driven by playwright-core):
 * a page served from another origin can call the Remote API only when the daemon was started
 * with the header, and the preflight for a POST with JSON passes.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon } from './harness';

const CHROMIUM = '/usr/bin/chromium';
const reason = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed`;
if (reason) console.warn(`[cors-browser] skipped: ${reason}`);

describe.skipIf(reason)('--api-cors-header from a browser', () => {
  let page: Server;
  let origin: string;
  let browser: import('playwright-core').Browser;

  beforeAll(async () => {
    page = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>ui</title>'));
    await new Promise<void>((r) => page.listen({ host: '127.0.0.1', port: 0 }, r));
    origin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => page?.close(r));
  });

  /** Start a daemon on loopback tcp and run `fetch` calls from a page of another origin. */
  async function fromPage(daemonArgs: string[]): Promise<{ get: string; post: string }> {
    const d = await startTestDaemon('fake', (await import('../fakes')).createFakeKernel, ['-H', 'tcp://127.0.0.1:0', ...daemonArgs]);
    try {
      const api = d.daemon.listeners.find((l) => l.address.startsWith('tcp://'))!.address.replace('tcp://', 'http://');
      const tab = await browser.newPage();
      await tab.goto(origin);
      const result = await tab.evaluate(async (base) => {
        const attempt = async (f: () => Promise<Response>) => {
          try {
            const r = await f();
            return `${r.status} ${await r.text()}`;
          } catch (e) {
            return `blocked: ${(e as Error).message}`;
          }
        };
        return {
          get: await attempt(() => fetch(`${base}/_ping`)),
          post: await attempt(() => fetch(`${base}/v1.41/images/prune`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })),
        };
      }, api);
      await tab.close();
      return result;
    } finally {
      await d.stop();
    }
  }

  it('blocks cross-origin calls without the flag', async () => {
    const r = await fromPage([]);
    expect(r.get).toMatch(/^blocked/);
    expect(r.post).toMatch(/^blocked/);
  });

  it('allows them with --api-cors-header naming the origin, preflight included', async () => {
    const r = await fromPage(['--api-cors-header', origin]);
    expect(r.get).toBe('200 OK');
    expect(r.post).toMatch(/^200 \{"ImagesDeleted":/);
  });
});
