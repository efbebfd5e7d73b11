import { isIP } from 'node:net';

/** A parsed `-H` / DOCKER_HOST address. */
export type HostAddress =
  | { proto: 'unix'; path: string }
  | { proto: 'tcp'; host: string; port: number }
  | { proto: 'fd'; fd: number | undefined };

export const DEFAULT_UNIX_SOCKET = '/var/run/docker.sock';
export const DEFAULT_TCP_HOST = '127.0.0.1';
export const DEFAULT_HTTP_PORT = 2375;
export const DEFAULT_TLS_PORT = 2376;

export class HostParseError extends Error {}

/**
 * Parse a daemon or client address the way Docker does:
 * `unix://PATH` (empty path: the default socket), `tcp://HOST:PORT` (empty host: 127.0.0.1,
 * missing port: 2375, or 2376 with TLS; port 0 asks the kernel for a free port, as Docker allows),
 * `fd://` or `fd://N`, and a bare `HOST:PORT` as tcp.
 * An empty string means the default unix socket.
 */
export function parseHost(value: string, tls = false): HostAddress {
  const raw = value.trim();
  if (raw === '') return { proto: 'unix', path: DEFAULT_UNIX_SOCKET };
  const m = /^([a-z]+):\/\/(.*)$/.exec(raw);
  const proto = m ? m[1]! : 'tcp';
  const rest = m ? m[2]! : raw;
  switch (proto) {
    case 'unix':
      return { proto: 'unix', path: rest === '' ? DEFAULT_UNIX_SOCKET : rest };
    case 'fd': {
      if (rest === '') return { proto: 'fd', fd: undefined };
      if (!/^\d+$/.test(rest)) throw new HostParseError(`Invalid bind address format: ${value}`);
      return { proto: 'fd', fd: Number(rest) };
    }
    case 'tcp':
      return parseTcp(rest, value, tls);
    default:
      throw new HostParseError(`Invalid bind address format: ${value}`);
  }
}

function parseTcp(rest: string, original: string, tls: boolean): HostAddress {
  const defaultPort = tls ? DEFAULT_TLS_PORT : DEFAULT_HTTP_PORT;
  if (rest.includes('/') && !/^[^/]*\/?$/.test(rest)) {
    throw new HostParseError(`Invalid bind address format: ${original}`);
  }
  const hostport = rest.replace(/\/$/, '');
  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) throw new HostParseError(`Invalid bind address format: ${original}`);
    host = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw new HostParseError(`Invalid bind address format: ${original}`);
    portText = after === '' ? undefined : after.slice(1);
    if (isIP(host) !== 6) throw new HostParseError(`Invalid bind address format: ${original}`);
  } else {
    const colons = hostport.split(':').length - 1;
    if (colons > 1) throw new HostParseError(`Invalid bind address format: ${original}`);
    const idx = hostport.lastIndexOf(':');
    host = idx < 0 ? hostport : hostport.slice(0, idx);
    portText = idx < 0 ? undefined : hostport.slice(idx + 1);
    if (host !== '' && !isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) {
      throw new HostParseError(`Invalid bind address format: ${original}`);
    }
  }
  let port = defaultPort;
  if (portText !== undefined && portText !== '') {
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
      throw new HostParseError(`Invalid bind address format: ${original}`);
    }
    port = Number(portText);
  }
  return { proto: 'tcp', host: host === '' ? DEFAULT_TCP_HOST : host, port };
}

/** The canonical text form, e.g. `tcp://127.0.0.1:2375`, `tcp://[::1]:2376`, `fd://3`. */
export function formatHost(addr: HostAddress): string {
  switch (addr.proto) {
    case 'unix':
      return `unix://${addr.path}`;
    case 'fd':
      return addr.fd === undefined ? 'fd://' : `fd://${addr.fd}`;
    case 'tcp':
      return `tcp://${isIP(addr.host) === 6 ? `[${addr.host}]` : addr.host}:${addr.port}`;
  }
}
