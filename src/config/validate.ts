import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Value checks shared by the daemon flags and the API. Each returns a reason, or undefined when valid. */
export type Check = (value: string) => string | undefined;

export const isIPv4: Check = (v) => (isIP(v) === 4 ? undefined : 'not a valid IPv4 address');
export const isIPv6: Check = (v) => (isIP(v) === 6 ? undefined : 'not a valid IPv6 address');
export const isIPAny: Check = (v) => (isIP(v) ? undefined : 'not a valid IP address');

/** A network in CIDR notation; `family` restricts it. The address part may have host bits set. */
export function isCidr(family?: 4 | 6): Check {
  return (v) => {
    const slash = v.indexOf('/');
    if (slash < 0) return 'not a CIDR (expected ADDRESS/PREFIX)';
    const addr = v.slice(0, slash);
    const fam = isIP(addr);
    if (!fam || (family && fam !== family)) {
      return family ? `not a valid IPv${family} CIDR` : 'not a valid CIDR';
    }
    const prefix = v.slice(slash + 1);
    const max = fam === 4 ? 32 : 128;
    if (!/^\d+$/.test(prefix) || Number(prefix) > max) return `prefix length must be 0-${max}`;
    try {
      ipaddr.parseCIDR(v);
    } catch {
      return 'not a valid CIDR';
    }
    return undefined;
  };
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'panic'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A log level as logrus.ParseLevel reads it: case-insensitive, `warning` for `warn`; undefined when unknown. */
export function normaliseLogLevel(text: string): LogLevel | undefined {
  const lower = text.toLowerCase();
  const level = lower === 'warning' ? 'warn' : lower;
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
}

export const ULIMIT_NAMES = [
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc',
  'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
] as const;

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/**
 * `name=soft[:hard]` as in `--ulimit` / `--default-ulimit`; hard defaults to soft. -1 means unlimited
 * (RLIM_INFINITY) and is the only negative value allowed; the soft limit may not exceed the hard one,
 * counting unlimited as above every number (so `5:-1` is fine and `-1:5` is refused, as setrlimit would).
 */
export function parseUlimit(spec: string): Ulimit {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`invalid ulimit argument: ${spec}`);
  const name = spec.slice(0, eq);
  if (!(ULIMIT_NAMES as readonly string[]).includes(name)) throw new Error(`invalid ulimit type: ${name}`);
  const parts = spec.slice(eq + 1).split(':');
  if (parts.length > 2) throw new Error(`too many limit value arguments - ${spec.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const nums = parts.map((p) => {
    if (!/^-?\d+$/.test(p)) throw new Error(`invalid ulimit value: ${p}`);
    const n = Number(p);
    if (!Number.isSafeInteger(n) || n < -1) throw new Error(`invalid ulimit value: ${p}`);
    return n;
  });
  const soft = nums[0]!;
  const hard = nums[1] ?? soft;
  const rank = (n: number) => (n === -1 ? Infinity : n);
  if (rank(soft) > rank(hard)) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}

/**
 * Docker's RAMInBytes: `512`, `64k`, `20G`, `1.5gb`, case-insensitive, binary units.
 * With `base` 1000 it is go-units' FromHumanSize instead (same syntax, decimal units: what
 * the json-file log driver uses for `max-size`).
 */
export function parseBytes(text: string, base: 1000 | 1024 = 1024): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!m) throw new Error(`invalid size: '${text}'`);
  const units: Record<string, number> = { k: base, m: base ** 2, g: base ** 3, t: base ** 4, p: base ** 5 };
  const mult = m[2] ? units[m[2].toLowerCase()]! : 1;
  return Math.floor(Number(m[1]) * mult);
}

export function parseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
  return undefined;
}

/** `key=value` with a non-empty key. */
export function splitKeyValue(text: string): [string, string] | undefined {
  const eq = text.indexOf('=');
  if (eq <= 0) return undefined;
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** A DNS search domain (Docker's ValidateDNSSearch): `.` or a domain of labels, at most 255 chars. */
export const isDnsSearch: Check = (v) => {
  if (v === '.') return undefined;
  const d = v.replace(/^\./, '').replace(/\.$/, '');
  if (d.length === 0 || d.length > 255) return 'not a valid domain';
  const label = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  return d.split('.').every((l) => label.test(l)) ? undefined : 'not a valid domain';
};

/** A network interface name as the kernel accepts it. */
export const isInterfaceName: Check = (v) =>
  v.length > 0 && v.length <= 15 && !/[\s/:]/.test(v) && v !== '.' && v !== '..' ? undefined : 'not a valid interface name';

/** `host[:port]` (a registry name) or a CIDR; no scheme. */
export const isInsecureRegistry: Check = (v) => {
  if (v.includes('://')) return `insecure registry ${v} should not contain '://'`;
  if (v.includes('/')) return isCidr()(v);
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/.exec(v);
  if (!m) return 'not a valid registry name (expected HOST[:PORT] or a CIDR)';
  if (m[3] && Number(m[3].slice(1)) > 65535) return 'port out of range';
  return undefined;
};

/** A registry mirror: an http(s) URL with no path beyond `/`, query or fragment. */
export const isMirrorUrl: Check = (v) => {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'not a valid URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `unsupported scheme ${url.protocol.replace(/:$/, '')} (use http or https)`;
  if (url.pathname !== '/' && url.pathname !== '') return 'a mirror URL may not have a path';
  if (url.search || url.hash) return 'a mirror URL may not have a query or fragment';
  return undefined;
};
