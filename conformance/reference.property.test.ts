/**
 * Property tests for image reference parsing (src/image/reference.ts).
 *
 * References are generated from distribution/reference's grammar as parts (domain, path
 * components, tag, digest), so the expected fully qualified form is computed from the parts,
 * not by the parser. Valid ones must parse to that form and round-trip through their familiar
 * string; mutated ones (uppercase, bad characters, too long, bad digests) must be rejected
 * with InvalidParameterError and Docker's message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../src/errors';
import {
  familiarString, normalize, parseReference, referenceString, withDefaultTag, type Reference,
} from '../src/image/reference';

const RUNS = { numRuns: 400 };

// ---------------------------------------------------------------------------------------------
// Generators for the parts of a valid reference.

const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
/** component := alnum (separator alnum)* */
const component = fc.tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(''));
const label = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?$/);
const port = fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`);

type DomainKind = 'none' | 'hub' | 'legacy-hub' | 'custom';
/** A domain the parser must recognise as one: has '.' or ':', or is localhost. */
const customDomain = fc.oneof(
  fc.tuple(fc.array(label, { minLength: 2, maxLength: 3 }), fc.option(port, { nil: '' })).map(([ls, p]) => ls.join('.') + p),
  fc.tuple(label, port).map(([l, p]) => l + p),
  fc.option(port, { nil: '' }).map((p) => `localhost${p}`),
  fc.constantFrom('[::1]:5000', '[fd00::2]', '127.0.0.1:5000'),
);
const domain = fc.oneof(
  fc.constant({ kind: 'none' as DomainKind, text: '' }),
  fc.constant({ kind: 'hub' as DomainKind, text: 'docker.io' }),
  fc.constant({ kind: 'legacy-hub' as DomainKind, text: 'index.docker.io' }),
  customDomain.map((text) => ({ kind: 'custom' as DomainKind, text })),
);
const tag = fc.stringMatching(/^\w[\w.-]{0,20}$/);
const hex = (n: number) => fc.stringMatching(new RegExp(`^[a-f0-9]{${n}}$`));
const digest = fc.oneof(
  hex(64).map((h) => `sha256:${h}`),
  hex(96).map((h) => `sha384:${h}`),
  hex(128).map((h) => `sha512:${h}`),
);

interface Parts {
  domain: { kind: DomainKind; text: string };
  /** Whether a Hub name is written with `library/`. */
  library: boolean;
  components: string[];
  tag?: string;
  digest?: string;
}

const parts: fc.Arbitrary<Parts> = fc.record({
  domain,
  library: fc.boolean(),
  components: fc.array(component, { minLength: 1, maxLength: 3 }),
  tag: fc.option(tag, { nil: undefined }),
  digest: fc.option(digest, { nil: undefined }),
}).filter(readsAsWritten);

/** Without a domain, a first component with '.' followed by more would be read as a domain. */
function readsAsWritten(p: Parts): boolean {
  const first = p.components[0] ?? '';
  return !(p.domain.kind === 'none' && p.components.length > 1 && first.includes('.'));
}

const isHub = (p: Parts) => p.domain.kind !== 'custom';

function writtenPath(p: Parts): string {
  const path = p.components.join('/');
  return isHub(p) && p.library && p.components.length === 1 ? `library/${path}` : path;
}

function suffix(p: Parts): string {
  return (p.tag !== undefined ? `:${p.tag}` : '') + (p.digest !== undefined ? `@${p.digest}` : '');
}

function text(p: Parts): string {
  return (p.domain.kind === 'none' ? '' : `${p.domain.text}/`) + writtenPath(p) + suffix(p);
}

/** The model: what the reference must parse to. */
function expected(p: Parts): Reference {
  const path = p.components.join('/');
  return {
    domain: isHub(p) ? 'docker.io' : p.domain.text,
    path: isHub(p) && p.components.length === 1 ? `library/${path}` : path,
    ...(p.tag !== undefined ? { tag: p.tag } : {}),
    ...(p.digest !== undefined ? { digest: p.digest } : {}),
  };
}

const qualifiedLength = (r: Reference) => r.domain.length + 1 + r.path.length;

/** The familiar form by construction: no Hub domain, no library/, for names that cannot be misread. */
function familiarByConstruction(p: Parts): string | undefined {
  if (!isHub(p)) return `${p.domain.text}/${p.components.join('/')}${suffix(p)}`;
  const first = p.components[0] ?? '';
  if (p.components.length > 1 && (first.includes('.') || first === 'localhost' || first === 'library')) return undefined;
  return p.components.join('/') + suffix(p);
}

function rejection(input: string): InvalidParameterError {
  try {
    parseReference(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidParameterError);
    return err as InvalidParameterError;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

// ---------------------------------------------------------------------------------------------

describe('image references (property)', () => {
  it('valid references parse to the model, or fail only for length', () => {
    fc.assert(fc.property(parts, (p) => {
      const want = expected(p);
      if (qualifiedLength(want) > 255) {
        expect(rejection(text(p)).message).toBe('repository name must not be more than 255 characters');
        return;
      }
      expect(parseReference(text(p))).toEqual(want);
    }), RUNS);
  });

  it('familiar strings round-trip and match the familiar form; normalize is idempotent', () => {
    fc.assert(fc.property(parts, (p) => {
      const ref = parseReference(text(p));
      const familiar = familiarString(normalize(ref));
      expect(parseReference(familiar)).toEqual(ref);
      const byConstruction = familiarByConstruction(p);
      if (byConstruction !== undefined) expect(familiar).toBe(byConstruction);
      expect(normalize(normalize(ref))).toEqual(normalize(ref));
      expect(parseReference(referenceString(ref))).toEqual(ref);
      expect(parseReference(referenceString(withDefaultTag(ref))).tag).toBe(p.tag ?? (p.digest ? undefined : 'latest'));
    }), RUNS);
  });

  it('normalize is idempotent on hand-built references', () => {
    const built = fc.record({ domain: fc.constantFrom('', 'docker.io', 'index.docker.io', 'quay.io', 'localhost:5000'), path: fc.array(component, { minLength: 1, maxLength: 3 }).map((c) => c.join('/')) });
    fc.assert(fc.property(built, (r) => {
      const once = normalize(r);
      expect(normalize(once)).toEqual(once);
      expect(once.domain === 'docker.io' || once.domain === r.domain).toBe(true);
    }), RUNS);
  });

  it('an uppercase letter in the repository path is rejected as not lowercase', () => {
    const withUpper = fc.tuple(parts, fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ')).map(([p, at, letter]) => {
      const comps = [...p.components];
      const i = at % comps.length;
      const c = comps[i] ?? '';
      const j = (at >> 3) % c.length;
      comps[i] = c.slice(0, j) + letter + c.slice(j + 1);
      return { ...p, components: comps };
    });
    fc.assert(fc.property(withUpper, (p) => {
      expect(rejection(text(p)).message).toBe('invalid reference format: repository name must be lowercase');
    }), RUNS);
  });

  it('a character outside the grammar in the path is rejected', () => {
    const bad = fc.constantFrom('!', ' ', '$', '^', '*', ',', '\\', '+', '%', '=', '~', '"', 'é', '\n');
    const mutated = fc.tuple(parts, fc.nat(), bad).map(([p, at, ch]) => {
      const comps = [...p.components];
      const i = at % comps.length;
      const c = comps[i] ?? '';
      const j = (at >> 3) % (c.length + 1);
      comps[i] = c.slice(0, j) + ch + c.slice(j);
      return { ...p, components: comps };
    });
    fc.assert(fc.property(mutated, (p) => {
      expect(rejection(text(p)).message).toMatch(/^invalid reference format/);
    }), RUNS);
  });

  it('separators out of place are rejected', () => {
    const broken = fc.tuple(parts, fc.constantFrom('.', '_', '-', '___', '._', '/')).chain(([p, s]) =>
      fc.constantFrom(`${s}${p.components[0]}`, `${p.components[0]}${s}`, `${p.components[0]}${s}${s}x`).map((c0) => ({ ...p, components: [c0, ...p.components.slice(1)] })));
    fc.assert(fc.property(broken, (p) => {
      const input = text(p);
      // A few mutations stay valid (`a-` + `-x` is `a--x`); the grammar decides which.
      const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
      const stillValid = p.components.every((c) => component.test(c)) && !input.includes('//');
      if (!stillValid) expect(rejection(input).message).toMatch(/^invalid reference format/);
    }), RUNS);
  });

  it('names over 255 characters (fully qualified) are rejected', () => {
    const long = fc.tuple(parts, fc.integer({ min: 1, max: 300 }))
      .map(([p, n]) => ({ ...p, components: [...p.components, 'a'.repeat(n)] }))
      .filter(readsAsWritten);
    fc.assert(fc.property(long, (p) => {
      const want = expected(p);
      if (qualifiedLength(want) > 255) expect(rejection(text(p)).message).toBe('repository name must not be more than 255 characters');
      else expect(parseReference(text(p))).toEqual(want);
    }), RUNS);
  });

  it('bad digests are rejected with go-digest messages', () => {
    const badDigest = fc.oneof(
      fc.tuple(fc.constantFrom(['sha256', 64], ['sha384', 96], ['sha512', 128]), fc.integer({ min: 32, max: 140 }))
        .filter(([[, n], len]) => len !== n)
        .chain(([[algo], len]) => hex(len).map((h) => ({ digest: `${algo}:${h}`, message: 'invalid checksum digest length' }))),
      fc.tuple(hex(64), fc.nat(63)).map(([h, i]) => ({ digest: `sha256:${h.slice(0, i)}F${h.slice(i + 1)}`, message: 'invalid checksum digest format' })),
      fc.tuple(fc.constantFrom('md5', 'sha1', 'blake3', 'sha256+b64'), hex(64)).map(([a, h]) => ({ digest: `${a}:${h}`, message: 'unsupported digest algorithm' })),
      fc.tuple(fc.constantFrom('sha256', '', '1sha', 'sha256-'), fc.integer({ min: 0, max: 31 })).chain(([a, len]) => hex(len).map((h) => ({ digest: `${a}:${h}`, message: 'invalid reference format' }))),
      hex(64).map((h) => ({ digest: `sha256:${h}z`, message: 'invalid reference format' })),
    );
    fc.assert(fc.property(parts, badDigest, (p, bad) => {
      const input = text({ ...p, digest: bad.digest });
      const tooLong = qualifiedLength(expected(p)) > 255;
      expect(rejection(input).message).toBe(tooLong && bad.message !== 'invalid reference format' ? 'repository name must not be more than 255 characters' : bad.message);
    }), RUNS);
  });

  it('bad tags are rejected', () => {
    const badTag = fc.oneof(
      fc.stringMatching(/^[.-][\w.-]{0,10}$/),
      fc.stringMatching(/^\w[\w.-]{128,140}$/),
      fc.constant(''),
      fc.tuple(tag, fc.constantFrom('!', ' ', '+', ':', '@')).map(([t, c]) => `${t}${c}x`),
    );
    fc.assert(fc.property(parts, badTag, (p, t) => {
      expect(rejection(text({ ...p, tag: t })).message).toBe('invalid reference format');
    }), RUNS);
  });
});
