/**
 * Image references: `[domain/]path[:tag][@digest]`, parsed and normalised as Docker 20.10 does
 * (github.com/docker/distribution/reference, `ParseNormalizedNamed` + `FamiliarString`).
 *
 * Grammar (distribution/reference):
 *   name        := [domain '/'] path
 *   domain      := host [':' port]       host: DNS labels joined by '.', or '[' IPv6 ']'
 *   path        := component ('/' component)*
 *   component   := [a-z0-9]+ (separator [a-z0-9]+)*     separator: '.', '_', '__', '-'+
 *   tag         := [\w][\w.-]{0,127}
 *   digest      := algorithm ':' hex       algorithm: sha256 (64 hex), sha384 (96), sha512 (128)
 *
 * The first component is the domain only when it contains '.' or ':' or is `localhost`;
 * otherwise the name lives on Docker Hub (`docker.io`), and a one-component Hub name is an
 * official image under `library/`. `index.docker.io` is the legacy spelling of `docker.io`.
 * The 255-character limit applies to the fully qualified name (`docker.io/library/...`).
 *
 * Error messages are Docker's, measured against dockerd 20.10 (`POST /images/create`).
 */
import { InvalidParameterError } from '../errors';

/** A parsed reference. `domain` and `path` are always fully qualified once parsed. */
export interface Reference {
  readonly domain: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const NAME_TOTAL_LENGTH_MAX = 255;

/** Hex length of each digest algorithm Docker accepts (go-digest's registered algorithms). */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

/** `domain/path[:tag][@digest]` with a mandatory domain (the input is always qualified first). */
const QUALIFIED_RE = new RegExp(`^(${DOMAIN})/(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const DIGEST_RE = new RegExp(`^${DIGEST}$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const IMAGE_ID_RE = /^(?:sha256:)?[a-f0-9]{64}$/;

const invalid = (message: string) => new InvalidParameterError(message);

/**
 * Parses a reference as the Docker API and CLI accept it, returning it fully qualified:
 * `busybox` → {docker.io, library/busybox}; no tag is added (see {@link withDefaultTag}).
 * Throws InvalidParameterError with Docker's message on any malformed input.
 */
export function parseReference(text: string): Reference {
  if (IDENTIFIER_RE.test(text)) {
    throw invalid(`invalid repository name (${text}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(text);
  const colon = remainder.indexOf(':');
  const remoteName = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remoteName.toLowerCase() !== remoteName) {
    throw invalid('invalid reference format: repository name must be lowercase');
  }
  const qualified = `${domain}/${remainder}`;
  const m = QUALIFIED_RE.exec(qualified);
  if (!m) throw invalid('invalid reference format');
  const [, refDomain = '', path = '', tag, digest] = m;
  if (refDomain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (digest !== undefined) validateDigest(digest);
  return build(refDomain, path, tag, digest);
}

/**
 * The fully qualified form of a reference built by hand or read from old state: an empty or
 * legacy (`index.docker.io`) domain becomes `docker.io`, and a one-component Hub path gets
 * `library/`. Idempotent; does not validate (use {@link parseReference} for untrusted text).
 */
export function normalize(ref: Reference): Reference {
  const domain = ref.domain === '' || ref.domain === LEGACY_DEFAULT_DOMAIN ? DEFAULT_DOMAIN : ref.domain;
  const path = domain === DEFAULT_DOMAIN && !ref.path.includes('/') ? OFFICIAL_REPO_PREFIX + ref.path : ref.path;
  return build(domain, path, ref.tag, ref.digest);
}

/** Adds the `latest` tag when the reference has neither a tag nor a digest (Docker's TagNameOnly). */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** The same repository with `tag` (validated: "invalid tag format") and no digest. */
export function withTag(ref: Reference, tag: string): Reference {
  if (!TAG_RE.test(tag)) throw invalid('invalid tag format');
  return build(ref.domain, ref.path, tag, undefined);
}

/** The same reference without tag and digest. */
export function nameOnly(ref: Reference): Reference {
  return build(ref.domain, ref.path, undefined, undefined);
}

/** Fully qualified repository name: `docker.io/library/busybox`. */
export function repositoryName(ref: Reference): string {
  const n = normalize(ref);
  return `${n.domain}/${n.path}`;
}

/** Fully qualified string: `docker.io/library/busybox:latest@sha256:...`. */
export function referenceString(ref: Reference): string {
  return repositoryName(ref) + suffix(ref);
}

/**
 * The short name Docker shows (`RepoTags`, `docker images`): Hub's domain and the `library/`
 * of official images are dropped; `localhost:5000/x` stays. Unlike distribution's
 * FamiliarName, the domain is kept when the short form would read back as another registry
 * (`docker.io/my.org/app`), so that parsing a familiar name always gives back the same reference.
 */
export function familiarName(ref: Reference): string {
  const n = normalize(ref);
  if (n.domain !== DEFAULT_DOMAIN) return `${n.domain}/${n.path}`;
  const rest = n.path.startsWith(OFFICIAL_REPO_PREFIX) ? n.path.slice(OFFICIAL_REPO_PREFIX.length) : n.path;
  const short = rest.includes('/') ? n.path : rest;
  const first = short.split('/')[0] ?? '';
  const readsAsDomain = short.includes('/') && (first.includes('.') || first === 'localhost');
  return readsAsDomain ? `${n.domain}/${n.path}` : short;
}

/** Familiar name plus `:tag` and `@digest`: `busybox:latest`, `user/app@sha256:...`. */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + suffix(ref);
}

/** The registry host to contact: `docker.io` for Hub images, else the domain (`host[:port]`). */
export function registryHost(ref: Reference): string {
  return normalize(ref).domain;
}

/** The repository name on the wire (`/v2/<name>/...`): `library/busybox` for official images. */
export function remoteName(ref: Reference): string {
  return normalize(ref).path;
}

/**
 * True when `text` is a digest Docker accepts in a reference: `sha256:<64 hex>`,
 * `sha384:<96>`, `sha512:<128>`, lowercase hex. (src/image/digest.ts's `isDigest` is the
 * stricter sha256-only check for content this daemon stores.)
 */
export function isDigest(text: string): boolean {
  return DIGEST_RE.test(text) && digestProblem(text) === undefined;
}

/**
 * True for the full image-ID forms the API accepts in place of a name: `sha256:<64 hex>` and
 * `<64 hex>`. Unique-prefix matching (`docker rmi 1a2b3c`) is the image store's job.
 */
export function isImageIdLike(text: string): boolean {
  return IMAGE_ID_RE.test(text);
}

/** Docker's splitDockerDomain: decides whether the first component names a registry. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasDomain = slash >= 0 && (/[.:]/.test(first) || first === 'localhost');
  let domain = hasDomain ? first : DEFAULT_DOMAIN;
  let remainder = hasDomain ? name.slice(slash + 1) : name;
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** go-digest's Validate, for a string that already matched the reference grammar's digest. */
function validateDigest(digest: string): void {
  const problem = digestProblem(digest);
  if (problem) throw invalid(problem);
}

function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) return 'unsupported digest algorithm';
  if (hex.length !== length) return 'invalid checksum digest length';
  if (!/^[a-f0-9]+$/.test(hex)) return 'invalid checksum digest format';
  return undefined;
}

function suffix(ref: Reference): string {
  return (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** Builds a Reference without `undefined`-valued keys, so references compare with toEqual. */
function build(domain: string, path: string, tag: string | undefined, digest: string | undefined): Reference {
  return {
    domain,
    path,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}
