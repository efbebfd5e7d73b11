/** Versions this daemon reports. API differences between versions live in api/version-adapter.ts. */
export const DAEMON_VERSION = '20.10.24-ts.0.1.0';
export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.12';
export const GIT_COMMIT = 'tsdocker';

/** Compare dotted API versions numerically: negative when a < b. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
