/**
 * Property tests for `-H` / DOCKER_HOST addresses: generated unix, tcp (IPv4, bracketed IPv6,
 * hostnames, empty host) and fd addresses parse to the address they were built from, with
 * Docker's default ports; canonical forms round-trip through formatHost; garbage is refused.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_UNIX_SOCKET, formatHost, HostParseError, parseHost, type HostAddress } from '../src/config/hosts';

const RUNS = { numRuns: 200 };

const label = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?$/);
const hostname = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const port = fc.integer({ min: 0, max: 65535 });
const segment = fc.stringMatching(/^[^/\s]{1,10}$/);
const unixPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`);
const tls = fc.boolean();
const defaultPort = (t: boolean) => (t ? 2376 : 2375);

/** A tcp host as written in an address, and as parsed. */
const tcpHost = fc.oneof(
  ipv4.map((h) => ({ shown: h, host: h })),
  hostname.map((h) => ({ shown: h, host: h })),
  ipv6.map((h) => ({ shown: `[${h}]`, host: h })),
);

describe('parseHost: what it accepts', () => {
  it('unix://PATH is that path; unix:// alone is the default socket', () => {
    fc.assert(fc.property(unixPath, tls, (path, t) => {
      expect(parseHost(`unix://${path}`, t)).toEqual({ proto: 'unix', path });
    }), RUNS);
    expect(parseHost('unix://')).toEqual({ proto: 'unix', path: DEFAULT_UNIX_SOCKET });
  });

  it('fd:// and fd://N', () => {
    fc.assert(fc.property(fc.nat(100_000), (n) => {
      expect(parseHost(`fd://${n}`)).toEqual({ proto: 'fd', fd: n });
    }), RUNS);
    expect(parseHost('fd://')).toEqual({ proto: 'fd', fd: undefined });
  });

  it('tcp://HOST:PORT, with or without the scheme, IPv6 in brackets', () => {
    fc.assert(fc.property(tcpHost, port, fc.boolean(), tls, ({ shown, host }, p, scheme, t) => {
      const text = `${scheme ? 'tcp://' : ''}${shown}:${p}`;
      expect(parseHost(text, t)).toEqual({ proto: 'tcp', host, port: p });
    }), RUNS);
  });

  it('a missing port is 2375, or 2376 with TLS; also with a trailing colon or slash', () => {
    fc.assert(fc.property(tcpHost, fc.constantFrom('', ':', '/', ':/'), tls, ({ shown, host }, tail, t) => {
      expect(parseHost(`tcp://${shown}${tail}`, t)).toEqual({ proto: 'tcp', host, port: defaultPort(t) });
    }), RUNS);
  });

  it('an empty host is 127.0.0.1', () => {
    fc.assert(fc.property(fc.option(port), tls, (p, t) => {
      const text = `tcp://${p === null ? '' : `:${p}`}`;
      expect(parseHost(text, t)).toEqual({ proto: 'tcp', host: '127.0.0.1', port: p ?? defaultPort(t) });
    }), RUNS);
  });

  it('surrounding whitespace is ignored', () => {
    fc.assert(fc.property(tcpHost, port, fc.constantFrom(' ', '\t', '  '), ({ shown, host }, p, ws) => {
      expect(parseHost(`${ws}tcp://${shown}:${p}${ws}`)).toEqual({ proto: 'tcp', host, port: p });
    }), RUNS);
  });
});

/** Any address, as parseHost returns it. */
const address: fc.Arbitrary<HostAddress> = fc.oneof(
  unixPath.map((path) => ({ proto: 'unix' as const, path })),
  fc.option(fc.nat(100_000)).map((n) => ({ proto: 'fd' as const, fd: n ?? undefined })),
  fc.tuple(tcpHost, port).map(([{ host }, p]) => ({ proto: 'tcp' as const, host, port: p })),
);

describe('formatHost', () => {
  it('parseHost(formatHost(a)) is a, with or without TLS', () => {
    fc.assert(fc.property(address, tls, (a, t) => {
      expect(parseHost(formatHost(a), t)).toEqual(a);
    }), RUNS);
  });

  it('formatHost(parseHost(x)) is x for canonical forms', () => {
    const canonical = fc.oneof(
      unixPath.map((p) => `unix://${p}`),
      fc.constant('fd://'),
      fc.nat(100_000).map((n) => `fd://${n}`),
      fc.tuple(tcpHost, port).map(([{ shown }, p]) => `tcp://${shown}:${p}`),
    );
    fc.assert(fc.property(canonical, tls, (text, t) => {
      expect(formatHost(parseHost(text, t))).toBe(text);
    }), RUNS);
  });

  it('formatHost is idempotent through parseHost for every accepted shorthand', () => {
    const shorthand = fc.oneof(
      fc.tuple(tcpHost, fc.option(port), fc.boolean()).map(([{ shown }, p, scheme]) => `${scheme ? 'tcp://' : ''}${shown}${p === null ? '' : `:${p}`}`),
      fc.constantFrom('', 'unix://', 'tcp://', 'tcp://:', ':2375'),
    );
    fc.assert(fc.property(shorthand, tls, (text, t) => {
      const once = formatHost(parseHost(text, t));
      expect(formatHost(parseHost(once, t))).toBe(once);
    }), RUNS);
  });
});

describe('parseHost: what it refuses', () => {
  const refuses = (text: string) => {
    expect(() => parseHost(text), text).toThrow(HostParseError);
    expect(() => parseHost(text), text).toThrow(`Invalid bind address format: ${text}`);
  };

  it('ports that are not 0-65535 or not numbers', () => {
    const badPort = fc.oneof(
      fc.integer({ min: 65536, max: Number.MAX_SAFE_INTEGER }).map(String),
      fc.integer({ min: -100_000, max: -1 }).map(String),
      fc.stringMatching(/^([a-z+][a-z0-9]{0,5}| [0-9]{1,4})$/),
      fc.tuple(fc.nat(99), fc.nat(99)).map(([a, b]) => `${a}.${b}`),
    );
    fc.assert(fc.property(tcpHost, badPort, fc.boolean(), ({ shown }, p, scheme) => refuses(`${scheme ? 'tcp://' : ''}${shown}:${p}`)), RUNS);
  });

  it('a path, query or fragment on tcp', () => {
    const tail = fc.oneof(
      fc.array(segment.filter((s) => !s.includes('?') && !s.includes('#')), { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`),
      label.map((l) => `?${l}=1`),
      label.map((l) => `#${l}`),
    );
    fc.assert(fc.property(tcpHost, fc.option(port), tail, ({ shown }, p, rest) => refuses(`tcp://${shown}${p === null ? '' : `:${p}`}${rest}`)), RUNS);
  });

  it('unknown schemes', () => {
    const scheme = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9+.-]{0,8}$/).filter((s) => !['tcp', 'unix', 'fd'].includes(s));
    fc.assert(fc.property(scheme, hostname, (s, h) => refuses(`${s}://${h}`)), RUNS);
  });

  it('IPv6 without brackets, bad brackets, and IPv4 in brackets', () => {
    fc.assert(fc.property(ipv6.filter((h) => (h.match(/:/g) ?? []).length > 1), port, (h, p) => refuses(`tcp://${h}:${p}`)), RUNS);
    fc.assert(fc.property(ipv6, (h) => refuses(`tcp://[${h}`)), RUNS);
    fc.assert(fc.property(ipv4, port, (h, p) => refuses(`tcp://[${h}]:${p}`)), RUNS);
    fc.assert(fc.property(ipv6, label, (h, junk) => refuses(`tcp://[${h}]${junk}`)), RUNS);
  });

  it('hosts with characters no hostname or IP has', () => {
    const badChar = fc.constantFrom('_', ' ', '@', '!', '*', ',', '%', '$', '~');
    fc.assert(fc.property(hostname, badChar, fc.nat(12), port, (h, c, at, p) => {
      const i = at % (h.length + 1);
      const host = `${h.slice(0, i)}${c}${h.slice(i)}`;
      fc.pre(isIP(host) === 0);
      refuses(`tcp://${host}:${p}`);
    }), RUNS);
  });

  it('fd:// followed by anything but digits', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/^\d+$/.test(s.trim()) && s.trim() !== ''), (s) => refuses(`fd://${s}`)), RUNS);
  });
});
