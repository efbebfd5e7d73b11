import { describe, expect, it } from 'vitest';
import {
  isCidr, isDnsSearch, isIPAny, isIPv4, isIPv6, isInsecureRegistry, isInterfaceName, isMirrorUrl,
  normaliseLogLevel, parseBool, parseBytes, parseUlimit, splitKeyValue, ULIMIT_NAMES,
} from './validate';

describe('IP checks', () => {
  it.each(['0.0.0.0', '10.1.2.3', '255.255.255.255'])('isIPv4 accepts %s', (v) => expect(isIPv4(v)).toBeUndefined());
  it.each(['', '::1', '1.2.3', '256.1.1.1', '1.2.3.4 ', 'a.b.c.d'])('isIPv4 refuses %j', (v) => expect(isIPv4(v)).toMatch(/IPv4/));
  it.each(['::', '::1', 'fe80::1', '2001:db8::8a2e:370:7334', '::ffff:1.2.3.4'])('isIPv6 accepts %s', (v) => expect(isIPv6(v)).toBeUndefined());
  it.each(['', '1.2.3.4', ':::', '[::1]', 'g::1'])('isIPv6 refuses %j', (v) => expect(isIPv6(v)).toMatch(/IPv6/));
  it('isIPAny takes either family and nothing else', () => {
    expect(isIPAny('8.8.8.8')).toBeUndefined();
    expect(isIPAny('2001:4860:4860::8888')).toBeUndefined();
    expect(isIPAny('dns.google')).toMatch(/IP address/);
  });
});

describe('isCidr', () => {
  it.each([
    ['10.0.0.0/8', undefined], ['172.17.42.1/16', undefined], ['0.0.0.0/0', undefined], ['1.2.3.4/32', undefined],
    ['2001:db8::/64', undefined], ['::/0', undefined], ['::1/128', undefined],
  ])('accepts %s (host bits may be set)', (v) => expect(isCidr()(v)).toBeUndefined());
  it.each([
    ['10.0.0.0', /not a CIDR/], ['10.0.0.0/33', /0-32/], ['::/129', /0-128/], ['10.0.0.0/', /0-32/],
    ['10.0.0.0/-1', /0-32/], ['10.0.0.0/a', /0-32/], ['x/8', /CIDR/], ['/8', /CIDR/],
  ])('refuses %s', (v, msg) => expect(isCidr()(v)).toMatch(msg));
  it('restricts the family when asked', () => {
    expect(isCidr(4)('2001:db8::/64')).toMatch(/IPv4 CIDR/);
    expect(isCidr(6)('10.0.0.0/8')).toMatch(/IPv6 CIDR/);
    expect(isCidr(4)('10.0.0.0/8')).toBeUndefined();
    expect(isCidr(6)('2001:db8::/64')).toBeUndefined();
  });
});

describe('normaliseLogLevel (logrus.ParseLevel)', () => {
  it.each([['debug', 'debug'], ['INFO', 'info'], ['Warn', 'warn'], ['warning', 'warn'], ['error', 'error'], ['fatal', 'fatal'], ['panic', 'panic']])(
    '%s -> %s', (text, level) => expect(normaliseLogLevel(text)).toBe(level),
  );
  it.each(['', 'trace', 'verbose', 'info '])('refuses %j', (text) => expect(normaliseLogLevel(text)).toBeUndefined());
});

describe('parseUlimit', () => {
  it('reads name=soft:hard and name=soft', () => {
    expect(parseUlimit('nofile=1024:2048')).toEqual({ Name: 'nofile', Soft: 1024, Hard: 2048 });
    expect(parseUlimit('nproc=512')).toEqual({ Name: 'nproc', Soft: 512, Hard: 512 });
    expect(parseUlimit('core=0:0')).toEqual({ Name: 'core', Soft: 0, Hard: 0 });
  });
  it('knows every ulimit name Docker knows', () => {
    for (const name of ULIMIT_NAMES) expect(parseUlimit(`${name}=1`).Name).toBe(name);
  });
  it('takes -1 as unlimited, above every number', () => {
    expect(parseUlimit('memlock=-1')).toEqual({ Name: 'memlock', Soft: -1, Hard: -1 });
    expect(parseUlimit('memlock=64:-1')).toEqual({ Name: 'memlock', Soft: 64, Hard: -1 });
    expect(() => parseUlimit('memlock=-1:64')).toThrow('ulimit soft limit must be less than or equal to hard limit: -1 > 64');
  });
  it.each([
    ['nofile', 'invalid ulimit argument: nofile'],
    ['bogus=1', 'invalid ulimit type: bogus'],
    ['=1', 'invalid ulimit type: '],
    ['NOFILE=1', 'invalid ulimit type: NOFILE'],
    ['nofile=', 'invalid ulimit value: '],
    ['nofile=a', 'invalid ulimit value: a'],
    ['nofile=1.5', 'invalid ulimit value: 1.5'],
    ['nofile=-2', 'invalid ulimit value: -2'],
    ['nofile=1:', 'invalid ulimit value: '],
    ['nofile=1:2:3', 'too many limit value arguments - 1:2:3'],
    ['nofile=2048:1024', 'ulimit soft limit must be less than or equal to hard limit: 2048 > 1024'],
    ['nofile=99999999999999999999', 'invalid ulimit value: 99999999999999999999'],
  ])('refuses %j', (spec, message) => expect(() => parseUlimit(spec)).toThrow(message));
});

describe('parseBytes (RAMInBytes)', () => {
  it.each([
    ['0', 0], ['512', 512], ['64k', 64 * 1024], ['64K', 64 * 1024], ['64kb', 64 * 1024], ['64KiB', 64 * 1024],
    ['10m', 10 * 2 ** 20], ['20G', 20 * 2 ** 30], ['1.5gb', 1.5 * 2 ** 30], ['2t', 2 * 2 ** 40], ['1p', 2 ** 50],
    ['100 M', 100 * 2 ** 20], ['7b', 7],
  ])('%s -> %d', (text, n) => expect(parseBytes(text)).toBe(n));
  it.each(['', 'abc', '-1', '1x', 'g', '1.g', '1 2', ' 1'])('refuses %j naming it', (text) => {
    expect(() => parseBytes(text)).toThrow(`invalid size: '${text}'`);
  });
});

describe('parseBool (strconv.ParseBool)', () => {
  it.each(['1', 't', 'T', 'true', 'TRUE', 'True'])('%s is true', (t) => expect(parseBool(t)).toBe(true));
  it.each(['0', 'f', 'F', 'false', 'FALSE', 'False'])('%s is false', (t) => expect(parseBool(t)).toBe(false));
  it.each(['', 'yes', 'no', 'tRue', 'on', '2', ' true'])('%j is neither', (t) => expect(parseBool(t)).toBeUndefined());
});

describe('splitKeyValue', () => {
  it('splits at the first =', () => {
    expect(splitKeyValue('a=b')).toEqual(['a', 'b']);
    expect(splitKeyValue('a=b=c')).toEqual(['a', 'b=c']);
    expect(splitKeyValue('a=')).toEqual(['a', '']);
  });
  it('needs a key and an =', () => {
    expect(splitKeyValue('=b')).toBeUndefined();
    expect(splitKeyValue('ab')).toBeUndefined();
  });
});

describe('isDnsSearch', () => {
  it.each(['.', 'example.com', 'example.com.', '.example.com', 'a', 'a-b.c1', `${'a'.repeat(63)}.com`])('accepts %s', (v) => expect(isDnsSearch(v)).toBeUndefined());
  it.each(['', '..', '-a.com', 'a-.com', 'a..com', 'a_b.com', `${'a'.repeat(64)}.com`, `${'a.'.repeat(128)}a`])('refuses %j', (v) => expect(isDnsSearch(v)).toBe('not a valid domain'));
});

describe('isInterfaceName', () => {
  it.each(['br0', 'docker0', 'a', 'x'.repeat(15), 'vlan.10'])('accepts %s', (v) => expect(isInterfaceName(v)).toBeUndefined());
  it.each(['', 'x'.repeat(16), 'a b', 'a/b', 'a:b', '.', '..'])('refuses %j', (v) => expect(isInterfaceName(v)).toBe('not a valid interface name'));
});

describe('isInsecureRegistry', () => {
  it.each(['myregistry:5000', 'localhost', 'reg.example.com', '10.1.0.0/16', '[::1]:5000', '1.2.3.4:80'])('accepts %s', (v) => expect(isInsecureRegistry(v)).toBeUndefined());
  it.each([
    ['http://myregistry:5000', /should not contain ':\/\/'/], ['reg:99999', /port out of range/], ['10.1.0.0/33', /0-32/],
    ['-reg', /not a valid registry name/], ['reg:', /not a valid registry name/], ['', /not a valid registry name/],
  ])('refuses %s', (v, msg) => expect(isInsecureRegistry(v)).toMatch(msg));
});

describe('isMirrorUrl', () => {
  it.each(['https://mirror.example.com', 'http://10.0.0.1:5000/', 'https://[::1]:443'])('accepts %s', (v) => expect(isMirrorUrl(v)).toBeUndefined());
  it.each([
    ['mirror.example.com', /not a valid URL/], ['ftp://m', /unsupported scheme ftp/], ['https://m/v2', /may not have a path/],
    ['https://m/?q=1', /query or fragment/], ['https://m/#x', /query or fragment/],
  ])('refuses %s', (v, msg) => expect(isMirrorUrl(v)).toMatch(msg));
});
