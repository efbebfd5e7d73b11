/**
 * Where to reach a registry, in the order to try (Docker's lookupV2Endpoints).
 *
 * - Docker Hub (`docker.io`, `index.docker.io`): each `--registry-mirror` in order (mirror: true),
 *   then `https://registry-1.docker.io`. The official endpoint uses the system CAs only.
 * - Any other `host[:port]`: `https://host[:port]`. When the registry is insecure (see
 *   RegistryRules) that endpoint skips certificate verification, and `http://host[:port]`
 *   follows as a fallback. A secure registry never gets a plain-http or unverified endpoint.
 *
 * TLS material comes from `<certsDir>/<host[:port]>/` (Docker's ReadCertsDirectory):
 * every `*.crt` is an extra CA (in addition to the system CAs), every `*.cert` is a client
 * certificate whose key is the `*.key` of the same base name; a `.cert` without its `.key`,
 * a `.key` without its `.cert`, or a pair that does not load or match is an error naming the
 * files. Several pairs may be present: all are checked, the first by file name is used. A missing directory means
 * "no extra material". Unlike Docker, the directory is read for insecure registries too, so a
 * registry with a self-signed certificate can still require a client certificate.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { InvalidParameterError, SystemError } from '../errors';
import { RegistryRules } from './registry-config';

export const DEFAULT_CERTS_DIR = '/etc/docker/certs.d';
export const DEFAULT_V2_REGISTRY = 'https://registry-1.docker.io';

/** Extra TLS material for one registry host. */
export interface TlsMaterial {
  /** CA certificates (PEM) to trust besides the system ones. */
  ca: Buffer[];
  /** Client certificate and its key (PEM): the first pair by file name. */
  cert?: Buffer;
  key?: Buffer;
}

export interface RegistryEndpoint {
  url: URL;
  /** A `--registry-mirror` of Docker Hub. */
  mirror: boolean;
  /** Docker Hub itself. */
  official: boolean;
  /** The peer is not authenticated: https without certificate verification, or plain http. */
  insecureSkipVerify: boolean;
  tls?: TlsMaterial;
}

/**
 * The endpoints to try for `registryHost` (an index name: `host[:port]`, `docker.io`).
 * Throws InvalidParameterError for a host that cannot name a certs directory, SystemError
 * when the certs directory is unreadable or inconsistent.
 */
export async function lookupEndpoints(
  registryHost: string,
  rules: RegistryRules,
  certsDir: string = DEFAULT_CERTS_DIR,
): Promise<RegistryEndpoint[]> {
  if (RegistryRules.isOfficial(registryHost)) {
    const mirrors: RegistryEndpoint[] = [];
    for (const mirror of rules.mirrors) {
      const url = new URL(mirror);
      mirrors.push(await hostEndpoint(url, url.host, rules, certsDir, true));
    }
    const official = { url: new URL(DEFAULT_V2_REGISTRY), mirror: false, official: true, insecureSkipVerify: false };
    return [...mirrors, official];
  }
  const https = await hostEndpoint(new URL(`https://${checkHost(registryHost)}`), registryHost, rules, certsDir, false);
  if (!https.insecureSkipVerify) return [https];
  const http = { url: new URL(`http://${registryHost}`), mirror: false, official: false, insecureSkipVerify: true };
  return [https, http];
}

/**
 * Node TLS options for an https endpoint: the system CAs plus the certs.d CAs (Node's `ca`
 * replaces the defaults, so they are added back), the client pair, and verification off
 * for insecure endpoints.
 */
export function tlsOptions(endpoint: RegistryEndpoint): ConnectionOptions {
  const material = endpoint.tls;
  return {
    rejectUnauthorized: !endpoint.insecureSkipVerify,
    ...(material && material.ca.length > 0 ? { ca: [...rootCertificates, ...material.ca] } : {}),
    ...(material?.cert && material.key ? { cert: material.cert, key: material.key } : {}),
  };
}

/**
 * Reads `<certsDir>/<hostPort>/` as Docker does; undefined when the directory does not exist
 * or holds no material.
 */
export async function readCertsDirectory(certsDir: string, hostPort: string): Promise<TlsMaterial | undefined> {
  const dir = join(certsDir, checkHost(hostPort));
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SystemError(`reading registry certificates in ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const material: TlsMaterial = { ca: [] };
  for (const name of names) {
    if (name.endsWith('.crt')) material.ca.push(await readPem(dir, name));
    if (name.endsWith('.cert')) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(keyName)) {
        throw new SystemError(`missing key ${keyName} for client certificate ${name}. Note that CA certificates should use the extension .crt`);
      }
      const cert = await readPem(dir, name);
      const key = await readPem(dir, keyName);
      checkKeyPair(dir, name, cert, keyName, key);
      if (!material.cert) Object.assign(material, { cert, key });
    }
    if (name.endsWith('.key')) {
      const certName = `${name.slice(0, -'.key'.length)}.cert`;
      if (!names.includes(certName)) throw new SystemError(`missing client certificate ${certName} for key ${name}`);
    }
  }
  return material.ca.length > 0 || material.cert ? material : undefined;
}

/**
 * The hint Docker gives when a registry is refused because it is not marked insecure
 * (the seed's "prompting the user to either secure or pass the --insecure-registry flag").
 */
export function insecureHint(host: string, certsDir: string = DEFAULT_CERTS_DIR): string {
  return (
    `If this private registry supports only HTTP or HTTPS with an unknown CA certificate, please add ` +
    `\`--insecure-registry ${host}\` to the daemon's arguments. In the case of HTTPS, if you have access to ` +
    `the registry's CA certificate, no need for the flag; simply place the CA certificate at ${certsDir}/${host}/ca.crt`
  );
}

/** Docker 1.8's message for a secure registry that could not be reached over verified https. */
export function refusedRegistryMessage(endpoint: URL, cause: string, certsDir: string = DEFAULT_CERTS_DIR): string {
  return `invalid registry endpoint ${new URL('/v2/', endpoint).href}: ${cause}. ${insecureHint(endpoint.host, certsDir)}`;
}

/** One endpoint for `url`; `hostPort` is the registry's name as written (URL lowercases and drops default ports). */
async function hostEndpoint(
  url: URL,
  hostPort: string,
  rules: RegistryRules,
  certsDir: string,
  mirror: boolean,
): Promise<RegistryEndpoint> {
  const insecure = url.protocol === 'http:' || (await rules.resolveAndCheck(hostPort));
  const tls = url.protocol === 'https:' ? await readCertsDirectory(certsDir, hostPort) : undefined;
  return { url, mirror, official: false, insecureSkipVerify: insecure, ...(tls ? { tls } : {}) };
}

/** A registry host must be usable as one directory name under certsDir and in a URL. */
function checkHost(hostPort: string): string {
  if (hostPort === '' || hostPort === '.' || hostPort === '..' || /[/\\\s@?#]/.test(hostPort)) {
    throw new InvalidParameterError(`invalid registry host "${hostPort}"`);
  }
  return hostPort;
}

/** Docker's tls.LoadX509KeyPair check: both parse and the key belongs to the certificate. */
function checkKeyPair(dir: string, certName: string, cert: Buffer, keyName: string, key: Buffer): void {
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new SystemError(`loading client certificate ${join(dir, certName)} with key ${keyName}: ${(err as Error).message}`, { cause: err });
  }
  if (!matches) throw new SystemError(`client certificate ${join(dir, certName)} does not match its key ${keyName}`);
}

async function readPem(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch (err) {
    throw new SystemError(`reading registry certificate ${join(dir, name)}: ${(err as Error).message}`, { cause: err });
  }
}
