import { describe, expect, it, vi } from 'vitest';
import { InvalidParameterError } from '../errors';
import { hostOf, RegistryRules, registryServiceConfig, type HostLookup } from './registry-config';

const noDns: HostLookup = async (host) => {
  throw new Error(`unexpected DNS lookup of ${host}`);
};

function table(map: Record<string, string[]>): HostLookup {
  return async (host) => {
    const found = map[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };
}

describe('RegistryRules.isInsecure', () => {
  const rules = new RegistryRules(['myreg:5000', 'plainhost', '10.1.2.3/16', 'fd00::1/8', '::ffff:192.168.0.0/112'], [], noDns);

  it('matches listed names exactly, port included', () => {
    expect(rules.isInsecure('myreg:5000')).toBe(true);
    expect(rules.isInsecure('myreg')).toBe(false);
    expect(rules.isInsecure('myreg:5001')).toBe(false);
    expect(rules.isInsecure('MYREG:5000')).toBe(false);
    expect(rules.isInsecure('plainhost')).toBe(true);
    expect(rules.isInsecure('plainhost:443')).toBe(false);
  });

  it('matches IP-literal hosts and resolved addresses against the CIDRs, 127.0.0.0/8 always', () => {
    expect(rules.isInsecure('10.1.200.7:5000')).toBe(true);
    expect(rules.isInsecure('10.2.0.1:5000')).toBe(false);
    expect(rules.isInsecure('127.0.0.1:5000')).toBe(true);
    expect(rules.isInsecure('127.255.1.2')).toBe(true);
    expect(rules.isInsecure('[fd12::5]:5000')).toBe(true);
    expect(rules.isInsecure('[fe80::1]:5000')).toBe(false);
    expect(rules.isInsecure('registry.internal:5000', ['192.0.2.1', '10.1.0.9'])).toBe(true);
    expect(rules.isInsecure('registry.internal:5000', ['192.0.2.1'])).toBe(false);
    expect(rules.isInsecure('localhost:5000', ['::1', '127.0.0.1'])).toBe(true);
    expect(rules.isInsecure('registry.internal', ['not-an-ip', 'fe80::1%eth0'])).toBe(false);
    expect(rules.isInsecure('registry.internal', ['fd00::2%eth0'])).toBe(true);
  });

  it('does not treat ::1 as loopback-insecure unless listed (as Docker)', () => {
    expect(rules.isInsecure('[::1]:5000')).toBe(false);
    expect(new RegistryRules(['::1/128']).isInsecure('[::1]:5000')).toBe(true);
  });

  it('treats IPv4-mapped IPv6 addresses and CIDRs as IPv4', () => {
    expect(rules.isInsecure('[::ffff:127.0.0.1]:5000')).toBe(true);
    expect(rules.isInsecure('x', ['::ffff:10.1.0.1'])).toBe(true);
    expect(rules.isInsecure('192.168.3.4')).toBe(true);
    expect(rules.isInsecure('192.169.0.1')).toBe(false);
    expect(new RegistryRules(['::/0']).isInsecure('10.0.0.1')).toBe(false);
  });

  it('never marks Docker Hub insecure', () => {
    const all = new RegistryRules(['docker.io', 'index.docker.io', '0.0.0.0/0', '::/0']);
    expect(all.isInsecure('docker.io', ['10.0.0.1'])).toBe(false);
    expect(all.isInsecure('index.docker.io', ['10.0.0.1'])).toBe(false);
    expect(all.isInsecure('anything.example', ['10.0.0.1'])).toBe(true);
  });

  it('rejects malformed entries, naming them', () => {
    expect(() => new RegistryRules(['10.0.0.0/33'])).toThrow(InvalidParameterError);
    expect(() => new RegistryRules(['http://myreg:5000'])).toThrow(/http:\/\/myreg:5000/);
    expect(() => new RegistryRules(['my reg'])).toThrow(/"my reg"/);
  });
});

describe('RegistryRules.resolveAndCheck', () => {
  it('uses the injected lookup only when the answer depends on it', async () => {
    const lookup = vi.fn(table({ 'registry.internal': ['10.1.4.4'], localhost: ['::1', '127.0.0.1'] }));
    const rules = new RegistryRules(['listed:5000', '10.1.0.0/16'], [], lookup);
    expect(await rules.resolveAndCheck('listed:5000')).toBe(true);
    expect(await rules.resolveAndCheck('docker.io')).toBe(false);
    expect(await rules.resolveAndCheck('10.1.0.1:5000')).toBe(true);
    expect(await rules.resolveAndCheck('[::1]:5000')).toBe(false);
    expect(lookup).not.toHaveBeenCalled();
    expect(await rules.resolveAndCheck('registry.internal:5000')).toBe(true);
    expect(lookup).toHaveBeenLastCalledWith('registry.internal');
    expect(await rules.resolveAndCheck('localhost:5000')).toBe(true);
    expect(lookup).toHaveBeenLastCalledWith('localhost');
  });

  it('treats a failed lookup as no addresses', async () => {
    const rules = new RegistryRules(['10.0.0.0/8'], [], table({}));
    expect(await rules.resolveAndCheck('unknown.example:5000')).toBe(false);
  });

  it('accepts a lookup per call', async () => {
    const rules = new RegistryRules([], [], noDns);
    expect(await rules.resolveAndCheck('here:5000', table({ here: ['127.0.0.2'] }))).toBe(true);
  });
});

describe('/info RegistryConfig', () => {
  it('has Docker 20.10 shape and ordering (measured with dockerd 20.10.24)', () => {
    const config = registryServiceConfig({
      insecureRegistries: ['10.1.2.3/16', 'myreg:5000', '127.0.0.0/8', 'fd00::1/8', 'docker.io', 'plainhost', '10.1.0.0/16'],
      registryMirrors: ['https://mirror.example.com', 'http://m2.example.com:5000'],
    });
    expect(JSON.stringify(config)).toBe(JSON.stringify({
      AllowNondistributableArtifactsCIDRs: [],
      AllowNondistributableArtifactsHostnames: [],
      InsecureRegistryCIDRs: ['10.1.0.0/16', '127.0.0.0/8', 'fd00::/8'],
      IndexConfigs: {
        'docker.io': { Name: 'docker.io', Mirrors: ['https://mirror.example.com/', 'http://m2.example.com:5000/'], Secure: true, Official: true },
        'myreg:5000': { Name: 'myreg:5000', Mirrors: [], Secure: false, Official: false },
        plainhost: { Name: 'plainhost', Mirrors: [], Secure: false, Official: false },
      },
      Mirrors: ['https://mirror.example.com/', 'http://m2.example.com:5000/'],
    }));
  });

  it('appends 127.0.0.0/8 after the listed CIDRs and has only Docker Hub by default', () => {
    expect(new RegistryRules(['192.168.0.0/16']).insecureCidrs()).toEqual(['192.168.0.0/16', '127.0.0.0/8']);
    const empty = new RegistryRules();
    expect(empty.insecureCidrs()).toEqual(['127.0.0.0/8']);
    expect(Object.keys(empty.indexConfigs())).toEqual(['docker.io']);
    expect(empty.serviceConfig().Mirrors).toEqual([]);
  });

  it('normalises IPv4-mapped CIDRs to IPv4 and keeps mirrors without a trailing slash', () => {
    const rules = new RegistryRules(['::ffff:10.0.0.0/104'], ['https://m.example/']);
    expect(rules.insecureCidrs()).toEqual(['10.0.0.0/8', '127.0.0.0/8']);
    expect(rules.mirrors).toEqual(['https://m.example']);
  });
});

describe('hostOf', () => {
  it.each([
    ['myreg:5000', 'myreg'], ['myreg', 'myreg'], ['[::1]:5000', '::1'], ['[::1]', '::1'],
    ['::1', '::1'], ['10.0.0.1:80', '10.0.0.1'],
  ])('%s → %s', (input, host) => {
    expect(hostOf(input)).toBe(host);
  });
});
