import type { Readable } from 'node:stream';
import { NotFoundError, UnauthorizedError, UnavailableError, SystemError, InvalidParameterError } from '../errors';
import { Authenticator, parseChallenge, type AuthConfig } from './auth';
import { refusedRegistryMessage, tlsOptions, type RegistryEndpoint } from './endpoints';
import { readBody, type RegistryResponse, type RegistryTransport } from './transport';

export const MEDIA = {
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

/** A registry error answer: status plus the registry's `errors[0].code` when it sent one. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

function isConnectionFailure(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  return /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|EPROTO|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_|ERR_SSL_|ERR_TLS_)/.test(code) || /wrong version number|packet length too long|HTTP response to HTTPS/i.test(String((e as Error)?.message));
}

/**
 * A conversation with one repository of one registry: picks the first endpoint that answers
 * `/v2/` (Docker's endpoint fallback), answers auth challenges, and maps registry errors to the
 * daemon's error classes.
 */
export class RepositorySession {
  private endpoint: RegistryEndpoint | undefined;
  private auth: Authenticator | undefined;

  constructor(
    private readonly endpoints: RegistryEndpoint[],
    readonly repository: string,
    private readonly transport: RegistryTransport,
    private readonly creds: AuthConfig,
    private readonly actions: ('pull' | 'push')[],
    private readonly certsDir?: string,
  ) {}

  get current(): RegistryEndpoint {
    if (!this.endpoint) throw new Error('session not opened');
    return this.endpoint;
  }

  /** Find a working endpoint. Mirrors that fail are skipped; the last failure is reported. */
  async open(): Promise<RegistryEndpoint> {
    if (this.endpoint) return this.endpoint;
    let lastError: unknown;
    for (const ep of this.endpoints) {
      try {
        const res = await this.transport({ url: new URL('/v2/', ep.url), method: 'GET', headers: { 'user-agent': 'tsdocker' }, tls: tlsOptions(ep) });
        await readBody(res).catch(() => undefined);
        if (res.status >= 500 && ep.mirror) throw new UnavailableError(`mirror ${ep.url.href} answered ${res.status}`);
        const auth = new Authenticator(this.transport, this.creds, tlsOptions(ep));
        if (res.status === 401) auth.setChallenge(parseChallenge(res.headers['www-authenticate']));
        this.endpoint = ep;
        this.auth = auth;
        return ep;
      } catch (e) {
        lastError = e;
      }
    }
    const last = this.endpoints[this.endpoints.length - 1]!;
    const cause = (lastError as Error)?.message ?? String(lastError);
    if (!last.insecureSkipVerify && !last.official && isConnectionFailure(lastError)) {
      throw new UnavailableError(refusedRegistryMessage(last.url, cause, this.certsDir));
    }
    throw new UnavailableError(`Get "${new URL('/v2/', last.url).href}": ${cause}`);
  }

  private scopes(): string[] {
    return [`repository:${this.repository}:${this.actions.join(',')}`];
  }

  /**
   * One request to `/v2/<repository>/<path>` (or an absolute URL), retried once after a 401.
   * `scopes` are token scopes needed besides this repository's (e.g. pull on a mount source).
   */
  async request(method: string, path: string | URL, opts: { headers?: Record<string, string>; body?: Buffer | (() => Readable); scopes?: string[] } = {}): Promise<RegistryResponse> {
    const ep = await this.open();
    const url = typeof path === 'string' ? new URL(`/v2/${this.repository}/${path}`, ep.url) : path;
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = { 'user-agent': 'tsdocker', ...opts.headers };
      const authz = await this.auth!.header([...this.scopes(), ...(opts.scopes ?? [])]);
      if (authz) headers.authorization = authz;
      const body = typeof opts.body === 'function' ? opts.body() : opts.body;
      const res = await this.transport({ url, method, headers, body, tls: tlsOptions(ep) });
      if (res.status === 401 && attempt === 0) {
        await readBody(res).catch(() => undefined);
        const c = parseChallenge(res.headers['www-authenticate']);
        if (c) {
          this.auth!.setChallenge(c);
          continue;
        }
      }
      return res;
    }
    throw new UnauthorizedError('unauthorized: authentication required');
  }

  /** Turn a failed answer into the daemon's error with the registry's message. */
  async fail(res: RegistryResponse, what: string): Promise<never> {
    const text = (await readBody(res).catch(() => Buffer.alloc(0))).toString('utf8');
    let code: string | undefined;
    let message = text.trim() || `status ${res.status}`;
    try {
      const e = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
      if (e) {
        code = e.code;
        message = e.message ?? message;
      }
    } catch {
      /* not JSON */
    }
    if (res.status === 404) throw new NotFoundError(`${what}: ${message}`);
    if (res.status === 401 || res.status === 403) throw new UnauthorizedError(`${what}: ${message}`);
    if (res.status === 429) throw new UnavailableError(`${what}: toomanyrequests: ${message}`);
    if (res.status === 400) throw new InvalidParameterError(`${what}: ${message}`);
    throw new SystemError(`${what}: ${code ? `${code}: ` : ''}${message} (status ${res.status})`);
  }
}
