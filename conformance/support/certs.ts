/**
 * Test PKI made with the `openssl` command: a CA, a server certificate for 127.0.0.1 /
 * localhost (and any extra DNS names), a client certificate from the same CA, and a client
 * certificate from an unrelated CA. EC P-256 keys keep it fast.
 *
 * Client directories follow DOCKER_CERT_PATH's layout (ca.pem, cert.pem, key.pem), so they
 * serve both `--tlscacert/--tlscert/--tlskey` and `DOCKER_CERT_PATH` with any client.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA the daemon trusts (--tlscacert). */
  ca: string;
  /** The daemon's certificate and key (--tlscert/--tlskey). */
  server: KeyPair;
  /** DOCKER_CERT_PATH of a client signed by the daemon's CA. */
  goodClientDir: string;
  /** DOCKER_CERT_PATH of a client signed by another CA (its ca.pem is still the daemon's CA). */
  foreignClientDir: string;
  /** A DOCKER_CERT_PATH with only ca.pem (no client certificate). */
  caOnlyDir: string;
  /** A good client certificate, but ca.pem is the other CA: the daemon's certificate fails verification. */
  untrustingClientDir: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): KeyPair {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], dir);
  return { cert, key };
}

/** Issue a leaf certificate signed by `ca` with the given extensions (an openssl extfile body). */
function issue(dir: string, ca: KeyPair, name: string, extensions: string): KeyPair {
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], dir);
  return { cert, key };
}

function clientDir(dir: string, name: string, ca: string, pair?: KeyPair): string {
  const out = join(dir, name);
  mkdirSync(out);
  copyFileSync(ca, join(out, 'ca.pem'));
  if (pair) {
    copyFileSync(pair.cert, join(out, 'cert.pem'));
    copyFileSync(pair.key, join(out, 'key.pem'));
  }
  return out;
}

/** Make the whole test PKI under `dir` (which must exist); extra names may be `IP:`/`DNS:`-prefixed SAN entries. */
export function makeTestPki(dir: string, extraDnsNames: string[] = []): TestPki {
  const ca = makeCa(dir, 'ca');
  const otherCa = makeCa(dir, 'other-ca');
  const san = ['IP:127.0.0.1', 'DNS:localhost', ...extraDnsNames.map((n) => (/^(DNS|IP):/.test(n) ? n : `DNS:${n}`))].join(',');
  const server = issue(dir, ca, 'server', `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  const client = issue(dir, ca, 'client', 'extendedKeyUsage=clientAuth\n');
  const foreign = issue(dir, otherCa, 'foreign-client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: ca.cert,
    server,
    goodClientDir: clientDir(dir, 'good-client', ca.cert, client),
    foreignClientDir: clientDir(dir, 'foreign-client', ca.cert, foreign),
    caOnlyDir: clientDir(dir, 'ca-only', ca.cert),
    untrustingClientDir: clientDir(dir, 'untrusting-client', otherCa.cert, client),
  };
}
