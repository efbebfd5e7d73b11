import { describe, expect, it } from 'vitest';
import { DEFAULT_UNIX_SOCKET, formatHost, HostParseError, parseHost, type HostAddress } from './hosts';

describe('parseHost', () => {
  it.each<[string, HostAddress]>([
    ['', { proto: 'unix', path: DEFAULT_UNIX_SOCKET }],
    ['  ', { proto: 'unix', path: DEFAULT_UNIX_SOCKET }],
    ['unix://', { proto: 'unix', path: DEFAULT_UNIX_SOCKET }],
    ['unix:///var/run/docker.sock', { proto: 'unix', path: '/var/run/docker.sock' }],
    ['unix:///tmp/a b/d.sock', { proto: 'unix', path: '/tmp/a b/d.sock' }],
    [' unix:///x ', { proto: 'unix', path: '/x' }],
    ['fd://', { proto: 'fd', fd: undefined }],
    ['fd://3', { proto: 'fd', fd: 3 }],
    ['tcp://0.0.0.0:2375', { proto: 'tcp', host: '0.0.0.0', port: 2375 }],
    ['tcp://192.168.59.103:2375', { proto: 'tcp', host: '192.168.59.103', port: 2375 }],
    ['tcp://192.168.59.106', { proto: 'tcp', host: '192.168.59.106', port: 2375 }],
    ['tcp://', { proto: 'tcp', host: '127.0.0.1', port: 2375 }],
    ['tcp://:', { proto: 'tcp', host: '127.0.0.1', port: 2375 }],
    ['tcp://:4243', { proto: 'tcp', host: '127.0.0.1', port: 4243 }],
    ['tcp://localhost', { proto: 'tcp', host: 'localhost', port: 2375 }],
    ['tcp://docker.example.com:443', { proto: 'tcp', host: 'docker.example.com', port: 443 }],
    ['tcp://127.0.0.1:0', { proto: 'tcp', host: '127.0.0.1', port: 0 }],
    ['tcp://127.0.0.1:65535', { proto: 'tcp', host: '127.0.0.1', port: 65535 }],
    ['tcp://127.0.0.1:2375/', { proto: 'tcp', host: '127.0.0.1', port: 2375 }],
    ['tcp://[::1]:2375', { proto: 'tcp', host: '::1', port: 2375 }],
    ['tcp://[::]', { proto: 'tcp', host: '::', port: 2375 }],
    ['tcp://[fe80::1%eth0]:1', { proto: 'tcp', host: 'fe80::1%eth0', port: 1 }],
    ['tcp://[::1]:', { proto: 'tcp', host: '::1', port: 2375 }],
    ['10.0.0.1:2375', { proto: 'tcp', host: '10.0.0.1', port: 2375 }],
    [':2375', { proto: 'tcp', host: '127.0.0.1', port: 2375 }],
    ['localhost', { proto: 'tcp', host: 'localhost', port: 2375 }],
  ])('%j', (text, addr) => expect(parseHost(text)).toEqual(addr));

  it('defaults the tcp port to 2376 with TLS, and only when no port is given', () => {
    expect(parseHost('tcp://0.0.0.0', true)).toEqual({ proto: 'tcp', host: '0.0.0.0', port: 2376 });
    expect(parseHost('tcp://', true)).toEqual({ proto: 'tcp', host: '127.0.0.1', port: 2376 });
    expect(parseHost('tcp://[::1]', true)).toEqual({ proto: 'tcp', host: '::1', port: 2376 });
    expect(parseHost('tcp://0.0.0.0:2375', true)).toEqual({ proto: 'tcp', host: '0.0.0.0', port: 2375 });
    expect(parseHost('unix:///x', true)).toEqual({ proto: 'unix', path: '/x' });
  });

  it.each([
    'http://127.0.0.1:2375', 'https://h', 'npipe:////./pipe/docker_engine', 'ssh://me@host', 'TCP://h', 'udp://h:1',
    'tcp://h:65536', 'tcp://h:99999999999999999999', 'tcp://h:-1', 'tcp://h:a', 'tcp://h:1:2', 'tcp://h:+1', 'tcp://h: 1',
    'tcp://h:80/path', 'tcp://h/a', 'tcp://h:80?x=1', 'tcp://h#f', 'tcp://user@h:1',
    'tcp://::1', 'tcp://[::1', 'tcp://[::1]x', 'tcp://[1.2.3.4]:1', 'tcp://[]:1', 'tcp://[h]:1',
    'tcp://-h', 'tcp://h-', 'tcp://h_1', 'tcp://a b', 'tcp://tcp://h',
    'fd://x', 'fd://-1', 'fd://3/', 'fd://1.5',
  ])('refuses %j with Docker\'s message', (text) => {
    expect(() => parseHost(text)).toThrow(HostParseError);
    expect(() => parseHost(text)).toThrow(`Invalid bind address format: ${text}`);
  });
});

describe('formatHost', () => {
  it.each<[HostAddress, string]>([
    [{ proto: 'unix', path: '/var/run/docker.sock' }, 'unix:///var/run/docker.sock'],
    [{ proto: 'fd', fd: undefined }, 'fd://'],
    [{ proto: 'fd', fd: 3 }, 'fd://3'],
    [{ proto: 'tcp', host: '127.0.0.1', port: 2375 }, 'tcp://127.0.0.1:2375'],
    [{ proto: 'tcp', host: 'example.com', port: 2376 }, 'tcp://example.com:2376'],
    [{ proto: 'tcp', host: '::1', port: 2375 }, 'tcp://[::1]:2375'],
    [{ proto: 'tcp', host: '0.0.0.0', port: 0 }, 'tcp://0.0.0.0:0'],
  ])('%j -> %s', (addr, text) => {
    expect(formatHost(addr)).toBe(text);
    expect(parseHost(text)).toEqual(addr);
  });

  it('writes the canonical form of a shorthand', () => {
    expect(formatHost(parseHost(''))).toBe('unix:///var/run/docker.sock');
    expect(formatHost(parseHost('tcp://'))).toBe('tcp://127.0.0.1:2375');
    expect(formatHost(parseHost(':2376'))).toBe('tcp://127.0.0.1:2376');
    expect(formatHost(parseHost('localhost', true))).toBe('tcp://localhost:2376');
    expect(formatHost(parseHost('tcp://h:80/'))).toBe('tcp://h:80');
  });
});
