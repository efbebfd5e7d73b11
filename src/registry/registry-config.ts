/**
 * Which registries the daemon may talk to without TLS verification (`--insecure-registry`),
 * and the Hub mirrors (`--registry-mirror`): Docker's registry ServiceConfig.
 *
 * A registry is named by its index name `host[:port]`, as written in an image reference.
 * It is insecure when
 *   - its index name is listed exactly (`--insecure-registry myreg:5000` matches `myreg:5000`,
 *     not `myreg` nor `myreg:5001`; case-sensitive, as Docker's map lookup), or
 *   - its host is an IP address, or a name resolving to addresses, of which ANY lies in a
 *     listed CIDR or in 127.0.0.0/8, which Docker always adds (so `localhost`, resolving to
 *     127.0.0.1, is insecure).
 * Docker Hub (`docker.io`, `index.docker.io`) is always secure. Like Docker, `::1` is NOT
 * implicitly insecure: list `::1/128` to allow a registry on IPv6 loopback.
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`), in addresses and CIDRs alike, count as
 * IPv4, as Go's net.IPNet does. A name that does not resolve only matches exact entries.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { DaemonConfig } from '../config/daemon-options';
import { isInsecureRegistry } from '../config/validate';
import { InvalidParameterError } from '../errors';

/** Resolves a host name to its addresses; rejects when it cannot. Injected so tests never hit DNS. */
export type HostLookup = (hostname: string) => Promise<string[]>;

/** One entry of /info's RegistryConfig.IndexConfigs. */
export interface IndexInfo {
  Name: string;
  Mirrors: string[];
  Secure: boolean;
  Official: boolean;
}

/** /info's RegistryConfig, as dockerd 20.10 reports it. */
export interface RegistryServiceConfig {
  AllowNondistributableArtifactsCIDRs: string[];
  AllowNondistributableArtifactsHostnames: string[];
  InsecureRegistryCIDRs: string[];
  IndexConfigs: Record<string, IndexInfo>;
  Mirrors: string[];
}

export const OFFICIAL_INDEX_NAME = 'docker.io';
const LEGACY_INDEX_NAME = 'index.docker.io';
const LOOPBACK_CIDR = '127.0.0.0/8';

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address of both families. */
export const systemLookup: HostLookup = async (hostname) =>
  (await dns.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

interface Cidr {
  readonly network: ipaddr.IPv4 | ipaddr.IPv6;
  readonly prefix: number;
  /** Network address / prefix, the way Go prints a net.IPNet: `10.1.0.0/16`, `fd00::/8`. */
  readonly text: string;
}

export class RegistryRules {
  /** Mirror URLs without a trailing slash, in the order given. */
  readonly mirrors: readonly string[];
  /** Listed `host[:port]` entries, in the order given, without duplicates. */
  readonly insecureNames: readonly string[];
  private readonly cidrs: readonly Cidr[];

  /**
   * @param insecureRegistries `host[:port]` or CIDR entries (validated: InvalidParameterError names a bad one)
   * @param mirrors http(s) URLs with no path
   * @param lookup resolver used by {@link resolveAndCheck} when no other is passed
   */
  constructor(
    insecureRegistries: readonly string[] = [],
    mirrors: readonly string[] = [],
    private readonly lookup: HostLookup = systemLookup,
  ) {
    const names: string[] = [];
    const cidrs: Cidr[] = [];
    for (const entry of insecureRegistries) {
      const problem = isInsecureRegistry(entry);
      if (problem) throw new InvalidParameterError(`invalid insecure registry "${entry}": ${problem}`);
      if (entry.includes('/')) addCidr(cidrs, parseCidr(entry));
      else if (!names.includes(entry)) names.push(entry);
    }
    addCidr(cidrs, parseCidr(LOOPBACK_CIDR));
    this.insecureNames = names;
    this.cidrs = cidrs;
    this.mirrors = mirrors.map((m) => m.replace(/\/+$/, ''));
  }

  static fromConfig(
    config: Pick<DaemonConfig, 'insecureRegistries' | 'registryMirrors'>,
    lookup: HostLookup = systemLookup,
  ): RegistryRules {
    return new RegistryRules(config.insecureRegistries, config.registryMirrors, lookup);
  }

  /** True for Docker Hub's index name (or its legacy spelling). */
  static isOfficial(indexName: string): boolean {
    return indexName === OFFICIAL_INDEX_NAME || indexName === LEGACY_INDEX_NAME;
  }

  /**
   * Whether the registry `hostPort` is insecure, given the addresses its host resolved to.
   * An IP-literal host counts as one of its own addresses; entries that are not IP addresses
   * are ignored.
   */
  isInsecure(hostPort: string, resolvedIps: readonly string[] = []): boolean {
    if (RegistryRules.isOfficial(hostPort)) return false;
    if (this.insecureNames.includes(hostPort)) return true;
    const host = hostOf(hostPort);
    const addresses = isIP(stripZone(host)) ? [host, ...resolvedIps] : resolvedIps;
    return addresses.some((a) => this.inInsecureCidr(a));
  }

  /**
   * {@link isInsecure} with the host resolved by `lookup` (default: the one given to the
   * constructor). Resolves to true when insecure. Resolution is skipped when the answer does
   * not depend on it; a failed lookup counts as "no addresses", as in Docker.
   */
  async resolveAndCheck(hostPort: string, lookup: HostLookup = this.lookup): Promise<boolean> {
    if (RegistryRules.isOfficial(hostPort)) return false;
    if (this.insecureNames.includes(hostPort)) return true;
    const host = hostOf(hostPort);
    if (isIP(stripZone(host))) return this.isInsecure(hostPort);
    const addresses = await lookup(host).catch(() => [] as string[]);
    return this.isInsecure(hostPort, addresses);
  }

  /** /info's InsecureRegistryCIDRs: listed CIDRs as networks, in order, then 127.0.0.0/8 unless listed. */
  insecureCidrs(): string[] {
    return this.cidrs.map((c) => c.text);
  }

  /** /info's IndexConfigs: Docker Hub with the mirrors, plus each listed name; keys sorted as Go's JSON does. */
  indexConfigs(): Record<string, IndexInfo> {
    const infos = new Map<string, IndexInfo>();
    for (const name of this.insecureNames) infos.set(name, { Name: name, Mirrors: [], Secure: false, Official: false });
    infos.set(OFFICIAL_INDEX_NAME, { Name: OFFICIAL_INDEX_NAME, Mirrors: this.mirrorsWithSlash(), Secure: true, Official: true });
    return Object.fromEntries([...infos.keys()].sort().map((k) => [k, infos.get(k) as IndexInfo]));
  }

  /** The whole /info RegistryConfig object. */
  serviceConfig(): RegistryServiceConfig {
    return {
      AllowNondistributableArtifactsCIDRs: [],
      AllowNondistributableArtifactsHostnames: [],
      InsecureRegistryCIDRs: this.insecureCidrs(),
      IndexConfigs: this.indexConfigs(),
      Mirrors: this.mirrorsWithSlash(),
    };
  }

  private mirrorsWithSlash(): string[] {
    return this.mirrors.map((m) => `${m}/`);
  }

  private inInsecureCidr(address: string): boolean {
    const text = stripZone(address);
    if (!isIP(text)) return false;
    const ip = unmapIPv4(ipaddr.parse(text));
    return this.cidrs.some((c) => c.network.kind() === ip.kind() && ip.match(c.network, c.prefix));
  }
}

/** /info's RegistryConfig for a daemon configuration (what the system service reports). */
export function registryServiceConfig(config: Pick<DaemonConfig, 'insecureRegistries' | 'registryMirrors'>): RegistryServiceConfig {
  return RegistryRules.fromConfig(config).serviceConfig();
}

/** The host part of `host`, `host:port`, `[v6]`, `[v6]:port` (or a bare IPv6 address). */
export function hostOf(hostPort: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d*)?$/.exec(hostPort);
  if (bracketed) return bracketed[1] ?? '';
  const colon = hostPort.indexOf(':');
  if (colon < 0 || hostPort.indexOf(':', colon + 1) >= 0) return hostPort; // no port, or a bare IPv6 address
  return hostPort.slice(0, colon);
}

function stripZone(address: string): string {
  const pct = address.indexOf('%');
  return pct < 0 ? address : address.slice(0, pct);
}

function unmapIPv4(ip: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
}

function parseCidr(text: string): Cidr {
  const [addr, bits] = ipaddr.parseCIDR(text);
  const v6 = addr.kind() === 'ipv6';
  const networkText = (v6 ? ipaddr.IPv6 : ipaddr.IPv4).networkAddressFromCIDR(text).toString();
  const network = ipaddr.parse(networkText);
  if (v6 && (network as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    const v4 = (network as ipaddr.IPv6).toIPv4Address();
    return { network: v4, prefix: bits - 96, text: `${v4.toString()}/${bits - 96}` };
  }
  return { network, prefix: bits, text: `${network.toString()}/${bits}` };
}

/** Appends unless the same network is already there (Docker skips duplicates). */
function addCidr(list: Cidr[], cidr: Cidr): void {
  if (!list.some((c) => c.text === cidr.text)) list.push(cidr);
}
