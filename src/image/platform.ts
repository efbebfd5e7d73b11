import { InvalidParameterError } from '../errors';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The daemon's own platform in OCI terms. */
export function hostPlatform(): Platform {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
  return { os: 'linux', architecture: arch, ...(arch === 'arm64' ? { variant: 'v8' } : {}) };
}

/** Parse `os[/arch[/variant]]` as the `platform` query parameter carries it. */
export function parsePlatform(text: string | undefined): Platform | undefined {
  if (!text) return undefined;
  const [os, architecture, variant] = text.toLowerCase().split('/');
  if (!os || (architecture !== undefined && architecture === '')) throw new InvalidParameterError(`invalid platform: "${text}"`);
  return { os, architecture: architecture ?? hostPlatform().architecture, ...(variant ? { variant } : {}) };
}

export function platformMatches(want: Platform, have: { os?: string; architecture?: string; variant?: string }): boolean {
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (want.variant && have.variant && want.variant !== have.variant) return false;
  return true;
}

export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
