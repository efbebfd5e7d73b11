import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParameterError, SystemError } from '../errors';
import {
  insecureHint, lookupEndpoints, readCertsDirectory, refusedRegistryMessage, tlsOptions, type RegistryEndpoint,
} from './endpoints';
import { RegistryRules, type HostLookup } from './registry-config';

const lookup: HostLookup = async (host) => {
  const table: Record<string, string[]> = { localhost: ['127.0.0.1', '::1'], 'lab.internal': ['10.9.0.5'], 'mirror.internal': ['10.9.0.6'] };
  const found = table[host];
  if (!found) throw new Error(`ENOTFOUND ${host}`);
  return found;
};

let root: string;
let certsDir: string;
/** Two self-signed client pairs made with openssl, so key/cert mismatch can be shown. */
let pairA: { cert: Buffer; key: Buffer };
let pairB: { cert: Buffer; key: Buffer };

async function makePair(name: string): Promise<{ cert: Buffer; key: Buffer }> {
  const key = join(root, `${name}.key`);
  const cert = join(root, `${name}.cert`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-days', '2'], { stdio: 'ignore' });
  return { cert: await readFile(cert), key: await readFile(key) };
}

async function hostDir(host: string, files: Record<string, string | Buffer>): Promise<void> {
  const dir = join(certsDir, host);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
}

const brief = (eps: RegistryEndpoint[]) => eps.map((e) => `${e.url.href}${e.mirror ? ' mirror' : ''}${e.insecureSkipVerify ? ' insecure' : ''}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsdocker-endpoints-'));
  certsDir = join(root, 'certs.d');
  await mkdir(certsDir);
  pairA = await makePair('a');
  pairB = await makePair('b');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('lookupEndpoints', () => {
  it('gives Docker Hub its mirrors in order, then registry-1.docker.io', async () => {
    const rules = new RegistryRules(['mirror.internal'], ['https://mirror.internal', 'http://plain.mirror:5000', 'https://m3.example/'], lookup);
    const eps = await lookupEndpoints('docker.io', rules, certsDir);
    expect(brief(eps)).toEqual([
      'https://mirror.internal/ mirror insecure',
      'http://plain.mirror:5000/ mirror insecure',
      'https://m3.example/ mirror',
      'https://registry-1.docker.io/',
    ]);
    expect(eps.map((e) => e.official)).toEqual([false, false, false, true]);
    expect(brief(await lookupEndpoints('index.docker.io', new RegistryRules([], [], lookup), certsDir))).toEqual(['https://registry-1.docker.io/']);
  });

  it('gives a secure registry one verified https endpoint, never http', async () => {
    const rules = new RegistryRules(['10.0.0.0/8'], [], lookup);
    expect(brief(await lookupEndpoints('registry.example.com:5000', rules, certsDir))).toEqual(['https://registry.example.com:5000/']);
    expect(brief(await lookupEndpoints('[::1]:5000', rules, certsDir))).toEqual(['https://[::1]:5000/']);
  });

  it('gives an insecure registry unverified https, then http', async () => {
    const rules = new RegistryRules(['myreg:5000', '10.9.0.0/16'], [], lookup);
    for (const host of ['myreg:5000', 'lab.internal:5000', 'localhost:5000', '127.0.0.1:5000', '10.9.1.1']) {
      expect(brief(await lookupEndpoints(host, rules, certsDir))).toEqual([`https://${host}/ insecure`, `http://${host}/ insecure`]);
    }
  });

  it('matches listed names as written, before URL normalisation', async () => {
    const rules = new RegistryRules(['MyReg:443'], [], lookup);
    expect(brief(await lookupEndpoints('MyReg:443', rules, certsDir))).toEqual(['https://myreg/ insecure', 'http://myreg:443/ insecure']);
  });

  it('attaches the TLS material of the host directory', async () => {
    await hostDir('tls.example:5000', { 'ca.crt': 'CA-ONE', 'extra.crt': 'CA-TWO', 'client.cert': pairA.cert, 'client.key': pairA.key });
    const rules = new RegistryRules([], [], lookup);
    const [ep, ...rest] = await lookupEndpoints('tls.example:5000', rules, certsDir);
    expect(rest).toEqual([]);
    expect(ep?.tls?.ca.map(String)).toEqual(['CA-ONE', 'CA-TWO']);
    expect(ep?.tls?.cert).toEqual(pairA.cert);
    expect(ep?.tls?.key).toEqual(pairA.key);
    const opts = tlsOptions(ep as RegistryEndpoint);
    expect(opts.rejectUnauthorized).toBe(true);
    expect(opts.ca).toEqual([...rootCertificates, Buffer.from('CA-ONE'), Buffer.from('CA-TWO')]);
    expect(opts.cert).toEqual(pairA.cert);
  });

  it('reads the mirror host directory for https mirrors', async () => {
    await hostDir('secure.mirror', { 'ca.crt': 'MIRROR-CA' });
    const rules = new RegistryRules([], ['https://secure.mirror'], lookup);
    const [mirror] = await lookupEndpoints('docker.io', rules, certsDir);
    expect(mirror?.tls?.ca.map(String)).toEqual(['MIRROR-CA']);
  });

  it('rejects a host that cannot name a certs directory', async () => {
    const rules = new RegistryRules([], [], lookup);
    await expect(lookupEndpoints('..', rules, certsDir)).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(lookupEndpoints('a/b', rules, certsDir)).rejects.toThrow('invalid registry host "a/b"');
  });
});

describe('readCertsDirectory', () => {
  it('is undefined for a missing or empty directory', async () => {
    expect(await readCertsDirectory(certsDir, 'nothing.here')).toBeUndefined();
    await hostDir('empty.example', {});
    expect(await readCertsDirectory(certsDir, 'empty.example')).toBeUndefined();
  });

  it('names a .cert without its .key, and a .key without its .cert', async () => {
    await hostDir('nokey.example', { 'client.cert': pairA.cert });
    await expect(readCertsDirectory(certsDir, 'nokey.example')).rejects.toThrow(
      'missing key client.key for client certificate client.cert. Note that CA certificates should use the extension .crt',
    );
    await hostDir('nocert.example', { 'client.key': pairA.key });
    const err = await readCertsDirectory(certsDir, 'nocert.example').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SystemError);
    expect((err as Error).message).toBe('missing client certificate client.cert for key client.key');
  });

  it('rejects a key that does not belong to its certificate, and unparsable pairs', async () => {
    await hostDir('mismatch.example', { 'client.cert': pairA.cert, 'client.key': pairB.key });
    await expect(readCertsDirectory(certsDir, 'mismatch.example')).rejects.toThrow(/client\.cert does not match its key client\.key/);
    await hostDir('garbage.example', { 'client.cert': 'not pem', 'client.key': pairA.key });
    await expect(readCertsDirectory(certsDir, 'garbage.example')).rejects.toThrow(/loading client certificate .*client\.cert/);
  });

  it('checks every pair and uses the first by name', async () => {
    await hostDir('two.example', { 'b.cert': pairB.cert, 'b.key': pairB.key, 'a.cert': pairA.cert, 'a.key': pairA.key });
    const material = await readCertsDirectory(certsDir, 'two.example');
    expect(material?.cert).toEqual(pairA.cert);
    expect(material?.ca).toEqual([]);
  });

  it('reports an unreadable directory as a system error', async () => {
    await writeFile(join(certsDir, 'file.example'), 'not a directory');
    await expect(readCertsDirectory(certsDir, 'file.example')).rejects.toBeInstanceOf(SystemError);
  });
});

describe('tlsOptions', () => {
  it('turns verification off for insecure endpoints and keeps system CAs when none are added', () => {
    const opts = tlsOptions({ url: new URL('https://x'), mirror: false, official: false, insecureSkipVerify: true });
    expect(opts).toEqual({ rejectUnauthorized: false });
  });
});

describe('messages', () => {
  it('prompts for --insecure-registry naming the host and its CA path', () => {
    expect(insecureHint('myreg:5000')).toBe(
      'If this private registry supports only HTTP or HTTPS with an unknown CA certificate, please add ' +
        "`--insecure-registry myreg:5000` to the daemon's arguments. In the case of HTTPS, if you have access to the " +
        "registry's CA certificate, no need for the flag; simply place the CA certificate at /etc/docker/certs.d/myreg:5000/ca.crt",
    );
    expect(refusedRegistryMessage(new URL('https://myreg:5000'), 'http: server gave HTTP response to HTTPS client', '/c')).toBe(
      'invalid registry endpoint https://myreg:5000/v2/: http: server gave HTTP response to HTTPS client. ' + insecureHint('myreg:5000', '/c'),
    );
  });
});
