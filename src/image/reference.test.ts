import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../errors';
import {
  familiarName, familiarString, isDigest, isImageIdLike, nameOnly, normalize, parseReference, referenceString,
  registryHost, remoteName, repositoryName, withDefaultTag, withTag, type Reference,
} from './reference';

const HEX64 = 'a'.repeat(64);
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

function parseError(text: string): InvalidParameterError {
  try {
    parseReference(text);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidParameterError);
    return err as InvalidParameterError;
  }
  throw new Error(`parseReference(${JSON.stringify(text)}) did not throw`);
}

describe('parseReference', () => {
  it.each<[string, Reference]>([
    ['busybox', { domain: 'docker.io', path: 'library/busybox' }],
    ['busybox:1.36', { domain: 'docker.io', path: 'library/busybox', tag: '1.36' }],
    ['library/busybox', { domain: 'docker.io', path: 'library/busybox' }],
    ['user/app', { domain: 'docker.io', path: 'user/app' }],
    ['user/team/app:v1', { domain: 'docker.io', path: 'user/team/app', tag: 'v1' }],
    ['docker.io/busybox', { domain: 'docker.io', path: 'library/busybox' }],
    ['index.docker.io/busybox', { domain: 'docker.io', path: 'library/busybox' }],
    ['index.docker.io/user/app', { domain: 'docker.io', path: 'user/app' }],
    ['localhost/app', { domain: 'localhost', path: 'app' }],
    ['localhost:5000/app:dev', { domain: 'localhost:5000', path: 'app', tag: 'dev' }],
    ['myreg:5000/a/b', { domain: 'myreg:5000', path: 'a/b' }],
    ['Registry.Example.COM/app', { domain: 'Registry.Example.COM', path: 'app' }],
    ['[::1]:5000/app', { domain: '[::1]:5000', path: 'app' }],
    ['127.0.0.1:5000/app', { domain: '127.0.0.1:5000', path: 'app' }],
    ['a.b-c--d/f', { domain: 'a.b-c--d', path: 'f' }],
    ['a_b.c__d---e', { domain: 'docker.io', path: 'library/a_b.c__d---e' }],
    ['busybox:Latest_1.0-rc', { domain: 'docker.io', path: 'library/busybox', tag: 'Latest_1.0-rc' }],
    [`busybox@${DIGEST}`, { domain: 'docker.io', path: 'library/busybox', digest: DIGEST }],
    [`busybox:1@${DIGEST}`, { domain: 'docker.io', path: 'library/busybox', tag: '1', digest: DIGEST }],
    [`localhost:5000/x:y@sha512:${'b'.repeat(128)}`, { domain: 'localhost:5000', path: 'x', tag: 'y', digest: `sha512:${'b'.repeat(128)}` }],
    [`x@sha384:${'c'.repeat(96)}`, { domain: 'docker.io', path: 'library/x', digest: `sha384:${'c'.repeat(96)}` }],
  ])('%s', (text, expected) => {
    expect(parseReference(text)).toEqual(expected);
  });

  it('accepts a tag of 128 characters and a name of exactly 255', () => {
    expect(parseReference(`busybox:${'t'.repeat(128)}`).tag).toHaveLength(128);
    const name = `x.io/${'a'.repeat(250)}`;
    expect(repositoryName(parseReference(name))).toBe(name);
  });

  // Messages measured against dockerd 20.10.24 (POST /v1.41/images/create?fromImage=...).
  it.each([
    ['Busybox', 'invalid reference format: repository name must be lowercase'],
    ['Foo/bar', 'invalid reference format: repository name must be lowercase'],
    ['foo/Bar', 'invalid reference format: repository name must be lowercase'],
    ['localhost:5000/Foo', 'invalid reference format: repository name must be lowercase'],
    ['Busybox@sha256:aa', 'invalid reference format: repository name must be lowercase'],
    [`BUSYBOX:latest@${DIGEST}`, 'invalid reference format: repository name must be lowercase'],
    ['busybox@sha256:abc', 'invalid reference format'],
    [`busybox@sha256:${'a'.repeat(63)}`, 'invalid checksum digest length'],
    [`busybox@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
    [`busybox@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    ['busybox@sha256:zz', 'invalid reference format'],
    [HEX64, `invalid repository name (${HEX64}), cannot specify 64-byte hexadecimal strings`],
    ['a'.repeat(250), 'repository name must not be more than 255 characters'],
    [`x.io/${'a'.repeat(251)}`, 'repository name must not be more than 255 characters'],
    ['', 'invalid reference format'],
    ['busybox:', 'invalid reference format'],
    [':tag', 'invalid reference format'],
    ['@sha256:abc', 'invalid reference format'],
    ['a//b', 'invalid reference format'],
    ['a___b', 'invalid reference format'],
    ['-a', 'invalid reference format'],
    ['a.', 'invalid reference format'],
    ['a_b.io/c', 'invalid reference format'],
    ['a.', 'invalid reference format'],
    ['a_b.io/c', 'invalid reference format'],
    ['a/b/', 'invalid reference format'],
    ['/a', 'invalid reference format'],
    ['a b', 'invalid reference format'],
    ['ex ample.com/a', 'invalid reference format'],
    ['ab:cd/ef', 'invalid reference format'],
    ['busybox:-x', 'invalid reference format'],
    ['busybox:.x', 'invalid reference format'],
    [`busybox:${'a'.repeat(129)}`, 'invalid reference format'],
    ['http://example.com/a', 'invalid reference format'],
    ['-bad.io/a', 'invalid reference format'],
    ['bad-.io/a', 'invalid reference format'],
  ])('rejects %j: %s', (text, message) => {
    expect(parseError(text).message).toBe(message);
  });
});

describe('normalize', () => {
  it('qualifies hand-built references and is idempotent', () => {
    const cases: [Reference, Reference][] = [
      [{ domain: '', path: 'busybox' }, { domain: 'docker.io', path: 'library/busybox' }],
      [{ domain: 'index.docker.io', path: 'user/app', tag: 'x' }, { domain: 'docker.io', path: 'user/app', tag: 'x' }],
      [{ domain: 'docker.io', path: 'library/busybox' }, { domain: 'docker.io', path: 'library/busybox' }],
      [{ domain: 'localhost:5000', path: 'app' }, { domain: 'localhost:5000', path: 'app' }],
    ];
    for (const [input, expected] of cases) {
      expect(normalize(input)).toEqual(expected);
      expect(normalize(normalize(input))).toEqual(expected);
    }
  });
});

describe('familiar forms', () => {
  it.each([
    ['docker.io/library/busybox:latest', 'busybox', 'busybox:latest'],
    ['busybox', 'busybox', 'busybox'],
    ['docker.io/user/app', 'user/app', 'user/app'],
    ['index.docker.io/library/redis:7', 'redis', 'redis:7'],
    ['localhost:5000/x', 'localhost:5000/x', 'localhost:5000/x'],
    ['localhost/x:1', 'localhost/x', 'localhost/x:1'],
    [`quay.io/a/b@${DIGEST}`, 'quay.io/a/b', `quay.io/a/b@${DIGEST}`],
    [`busybox:1@${DIGEST}`, 'busybox', `busybox:1@${DIGEST}`],
    // Nested under library/: stays as is (distribution/reference after 2022, round-trip safe).
    ['docker.io/library/a/b', 'library/a/b', 'library/a/b'],
    // A Hub path whose first component would read as a registry keeps its domain.
    ['docker.io/my.org/app', 'docker.io/my.org/app', 'docker.io/my.org/app'],
    ['docker.io/localhost/app', 'docker.io/localhost/app', 'docker.io/localhost/app'],
  ])('%s → %s / %s', (text, name, full) => {
    const ref = parseReference(text);
    expect(familiarName(ref)).toBe(name);
    expect(familiarString(ref)).toBe(full);
    expect(parseReference(full)).toEqual(ref);
  });

  it('gives fully qualified strings', () => {
    expect(referenceString(withDefaultTag(parseReference('busybox')))).toBe('docker.io/library/busybox:latest');
    expect(referenceString(parseReference(`user/app:1@${DIGEST}`))).toBe(`docker.io/user/app:1@${DIGEST}`);
    expect(referenceString({ domain: '', path: 'x' })).toBe('docker.io/library/x');
  });
});

describe('tags and wire names', () => {
  it('adds latest only when there is neither tag nor digest', () => {
    expect(withDefaultTag(parseReference('busybox')).tag).toBe('latest');
    expect(withDefaultTag(parseReference('busybox:1')).tag).toBe('1');
    expect(withDefaultTag(parseReference(`busybox@${DIGEST}`))).toEqual(parseReference(`busybox@${DIGEST}`));
  });

  it('withTag validates the tag and drops the digest; nameOnly drops both', () => {
    const ref = parseReference(`busybox:1@${DIGEST}`);
    expect(withTag(ref, 'v2')).toEqual({ domain: 'docker.io', path: 'library/busybox', tag: 'v2' });
    expect(() => withTag(ref, '-bad')).toThrow(InvalidParameterError);
    expect(() => withTag(ref, 'bad/tag')).toThrow('invalid tag format');
    expect(nameOnly(ref)).toEqual({ domain: 'docker.io', path: 'library/busybox' });
  });

  it('names the registry host and the remote repository', () => {
    expect(registryHost(parseReference('busybox'))).toBe('docker.io');
    expect(remoteName(parseReference('busybox'))).toBe('library/busybox');
    expect(remoteName(parseReference('user/app'))).toBe('user/app');
    expect(registryHost(parseReference('localhost:5000/a/b:c'))).toBe('localhost:5000');
    expect(remoteName(parseReference('localhost:5000/a/b:c'))).toBe('a/b');
    expect(registryHost({ domain: 'index.docker.io', path: 'x' })).toBe('docker.io');
  });
});

describe('digests and image IDs', () => {
  it('isDigest accepts the algorithms Docker knows, lowercase hex of the right length', () => {
    expect(isDigest(DIGEST)).toBe(true);
    expect(isDigest(`sha512:${'f'.repeat(128)}`)).toBe(true);
    expect(isDigest(`sha256:${'F'.repeat(64)}`)).toBe(false);
    expect(isDigest(`sha256:${'f'.repeat(63)}`)).toBe(false);
    expect(isDigest(`md5:${'f'.repeat(32)}`)).toBe(false);
    expect(isDigest(HEX64)).toBe(false);
    expect(isDigest('busybox')).toBe(false);
  });

  it('isImageIdLike accepts sha256:<64 hex> and <64 hex> only', () => {
    expect(isImageIdLike(HEX64)).toBe(true);
    expect(isImageIdLike(`sha256:${HEX64}`)).toBe(true);
    expect(isImageIdLike(HEX64.slice(1))).toBe(false);
    expect(isImageIdLike(`sha512:${HEX64}`)).toBe(false);
    expect(isImageIdLike(HEX64.toUpperCase())).toBe(false);
    expect(isImageIdLike('busybox')).toBe(false);
  });
});
