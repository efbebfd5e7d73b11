/**
 * Property tests for the `--insecure-registry` rules (src/registry/registry-config.ts).
 *
 * The oracle is a model on BigInts, independent of ipaddr.js: a registry `host:port` is insecure
 * iff it is not Docker Hub and either its name is listed exactly, or one of its addresses (its
 * own IP literal, or what its name resolved to) lies in a listed CIDR or in 127.0.0.0/8.
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`) counts as IPv4, for addresses and CIDR networks alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RegistryRules, type HostLookup } from '../src/registry/registry-config';

const RUNS = { numRuns: 500 };

// ---------------------------------------------------------------------------------------------
// The model.

type Family = 4 | 6;
interface Addr { family: Family; value: bigint }
interface Net { family: Family; network: bigint; prefix: number }

const width = (f: Family) => (f === 4 ? 32 : 128);
const maskOf = (prefix: number, f: Family) => ((1n << BigInt(prefix)) - 1n) << BigInt(width(f) - prefix);
const MAPPED_TAG = 0xffffn;

/** An IPv4-mapped IPv6 value is its IPv4 address. */
function canonicalAddr(a: Addr): Addr {
  return a.family === 6 && a.value >> 32n === MAPPED_TAG ? { family: 4, value: a.value & 0xffffffffn } : a;
}

function canonicalNet(a: Addr, prefix: number): Net {
  const network = a.value & maskOf(prefix, a.family);
  if (a.family === 6 && network >> 32n === MAPPED_TAG && prefix >= 96) {
    return { family: 4, network: network & 0xffffffffn, prefix: prefix - 96 };
  }
  return { family: a.family, network, prefix };
}

const LOOPBACK: Net = { family: 4, network: 127n << 24n, prefix: 8 };

function contains(n: Net, a: Addr): boolean {
  return n.family === a.family && (a.value & maskOf(n.prefix, n.family)) === n.network;
}

interface Scenario {
  cidrs: { addr: Addr; prefix: number; style: Style }[];
  names: string[];
  query: { name: string; literal?: { addr: Addr; style: Style }; port: string };
  resolved: { addr: Addr; style: Style }[];
}

function modelInsecure(s: Scenario): boolean {
  const hostPort = queryText(s);
  if (hostPort === 'docker.io' || hostPort === 'index.docker.io') return false;
  if (s.names.includes(hostPort)) return true;
  const nets = [...s.cidrs.map((c) => canonicalNet(c.addr, c.prefix)), LOOPBACK];
  const addrs = [...(s.query.literal ? [s.query.literal.addr] : []), ...s.resolved.map((r) => r.addr)].map(canonicalAddr);
  return addrs.some((a) => nets.some((n) => contains(n, a)));
}

// ---------------------------------------------------------------------------------------------
// Rendering addresses as text, in the several spellings a user or resolver may give.

type Style = 'full' | 'compressed' | 'mapped';

function v4Text(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

function v6Text(v: bigint, style: Style): string {
  const groups = Array.from({ length: 8 }, (_, i) => (v >> BigInt(112 - 16 * i)) & 0xffffn);
  if (style === 'mapped' && v >> 32n === MAPPED_TAG) return `::ffff:${v4Text(v & 0xffffffffn)}`;
  if (style === 'full') return groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

function addrText(a: Addr, style: Style): string {
  return a.family === 4 ? v4Text(a.value) : v6Text(a.value, style);
}

function queryText(s: Scenario): string {
  const { literal, name, port } = s.query;
  if (!literal) return name + port;
  const text = addrText(literal.addr, literal.style);
  return literal.addr.family === 6 ? `[${text}]${port}` : text + port;
}

/** Parses the rules' /info output back, for comparison with the model (v4 dotted, v6 with `::`). */
function parseText(text: string): Addr {
  if (text.includes('.')) return { family: 4, value: text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
  const [head = '', tail] = text.split('::');
  const hs = head ? head.split(':') : [];
  const ts = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n) };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries. Addresses are drawn near a few anchors so that CIDR hits and misses both happen.

const v4Anchors = [0x0a000000n, 0x7f000001n, 0xc0a80000n, 0xac100000n, 0n, 0xffffffffn];
const v6Anchors = [0xfd00n << 120n, 1n, 0n, 0x20010db8n << 96n, (MAPPED_TAG << 32n) | 0x7f000001n, (MAPPED_TAG << 32n) | 0x0a000001n];

const lowBits = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const addrNear = (family: Family) =>
  fc.tuple(fc.constantFrom(...(family === 4 ? v4Anchors : v6Anchors)), fc.integer({ min: 0, max: width(family) }))
    .chain(([anchor, bits]) => lowBits(bits).map((low) => {
      const mask = (1n << BigInt(bits)) - 1n;
      return { family, value: (anchor & ~mask) | low } as Addr;
    }));
const anyAddr: fc.Arbitrary<Addr> = fc.oneof(
  addrNear(4), addrNear(6),
  fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((value) => ({ family: 4, value }) as Addr),
  fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((value) => ({ family: 6, value }) as Addr),
);
const style = fc.constantFrom<Style>('full', 'compressed', 'mapped');

/** The same address in the other family's spelling when it has one: a.b.c.d <-> ::ffff:a.b.c.d. */
function flipMapped(a: Addr): Addr {
  if (a.family === 4) return { family: 6, value: (MAPPED_TAG << 32n) | a.value };
  return a.value >> 32n === MAPPED_TAG ? { family: 4, value: a.value & 0xffffffffn } : a;
}

/** An address from the scenario's shared pool (possibly re-spelled), or a fresh one. */
const fromPool = (pool: Addr[]) =>
  fc.oneof(
    fc.tuple(fc.constantFrom(...pool), fc.boolean()).map(([a, flip]) => (flip ? flipMapped(a) : a)),
    anyAddr,
  );

const hostName = fc.constantFrom('reg', 'reg.local', 'Reg.Local', 'localhost', 'docker.io', 'index.docker.io', 'a-b.example');
const portText = fc.constantFrom('', ':5000', ':5001', ':443');
const name = fc.tuple(hostName, portText).map(([h, p]) => h + p);

/** Scenarios share a pool of addresses, so that CIDRs, literals and resolved addresses meet often. */
const scenario: fc.Arbitrary<Scenario> = fc.array(anyAddr, { minLength: 1, maxLength: 4 }).chain((pool) => {
  const spelled = fc.record({ addr: fromPool(pool), style });
  const cidr = spelled.chain(({ addr, style: st }) =>
    fc.integer({ min: 0, max: width(addr.family) }).map((prefix) => ({ addr, prefix, style: st })));
  return fc.record({
    cidrs: fc.array(cidr, { maxLength: 5 }),
    names: fc.array(name, { maxLength: 5 }),
    query: fc.record({ name: hostName, literal: fc.option(spelled, { nil: undefined }), port: portText }),
    resolved: fc.array(spelled, { maxLength: 3 }),
  });
});
const anyCidr = scenario.map((s) => s.cidrs);

function rulesFor(s: Scenario): RegistryRules {
  const entries = [...s.cidrs.map((c) => `${addrText(c.addr, c.style)}/${c.prefix}`), ...s.names];
  return new RegistryRules(entries, []);
}

// ---------------------------------------------------------------------------------------------

describe('registry rules (property)', () => {
  it('isInsecure agrees with the model', () => {
    fc.assert(fc.property(scenario, (s) => {
      const resolved = s.resolved.map((r) => addrText(r.addr, r.style));
      expect(rulesFor(s).isInsecure(queryText(s), resolved)).toBe(modelInsecure(s));
    }), RUNS);
  });

  it('resolveAndCheck agrees with the model, resolving only names', async () => {
    await fc.assert(fc.asyncProperty(scenario, async (s) => {
      const asked: string[] = [];
      const lookup: HostLookup = async (host) => {
        asked.push(host);
        return s.resolved.map((r) => addrText(r.addr, r.style));
      };
      const expected = s.query.literal
        ? modelInsecure({ ...s, resolved: [] }) // an IP literal is never looked up
        : modelInsecure(s);
      expect(await rulesFor(s).resolveAndCheck(queryText(s), lookup)).toBe(expected);
      if (s.query.literal) expect(asked).toEqual([]);
    }), RUNS);
  });

  it('a failed lookup leaves only exact names and IP literals', async () => {
    await fc.assert(fc.asyncProperty(scenario, async (s) => {
      const failing: HostLookup = async () => {
        throw new Error('ENOTFOUND');
      };
      expect(await rulesFor(s).resolveAndCheck(queryText(s), failing)).toBe(modelInsecure({ ...s, resolved: [] }));
    }), RUNS);
  });

  it('reports listed networks in order without duplicates, then 127.0.0.0/8 unless listed', () => {
    fc.assert(fc.property(anyCidr, (cidrs) => {
      const nets: Net[] = [];
      for (const c of [...cidrs.map((x) => canonicalNet(x.addr, x.prefix)), LOOPBACK]) {
        if (!nets.some((n) => n.family === c.family && n.network === c.network && n.prefix === c.prefix)) nets.push(c);
      }
      const reported = new RegistryRules(cidrs.map((c) => `${addrText(c.addr, c.style)}/${c.prefix}`)).insecureCidrs();
      const parsed = reported.map((text) => {
        const [a = '', p = ''] = text.split('/');
        const addr = parseText(a);
        return { family: addr.family, network: addr.value, prefix: Number(p) };
      });
      expect(parsed).toEqual(nets);
    }), RUNS);
  });
});
