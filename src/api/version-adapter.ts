import { API_VERSION, MIN_API_VERSION, compareApiVersions } from '../version';

/** The `/vX.Y` prefix: where API versions are told apart, in one place. */
export interface ApiVersionInfo {
  /** The version the client asked for, or the newest when it gave no prefix. */
  version: string;
  explicit: boolean;
}

const PREFIX = /^\/v(\d+(?:\.\d+)?)(?=\/|$|\?)/;

/** Split `/v1.41/info?x` into the version and `/info?x`. Unprefixed requests get the newest. */
export function splitVersion(url: string): { url: string; api: ApiVersionInfo } {
  const m = PREFIX.exec(url);
  if (!m) return { url, api: { version: API_VERSION, explicit: false } };
  const rest = url.slice(m[0].length);
  return { url: rest === '' || rest.startsWith('?') ? `/${rest}` : rest, api: { version: m[1]!, explicit: true } };
}

/** Docker's answer for a version outside the supported range, or undefined when it is fine. */
export function checkVersion(api: ApiVersionInfo): { tooNew: boolean; message: string } | undefined {
  if (!api.explicit) return undefined;
  if (compareApiVersions(api.version, API_VERSION) > 0) {
    return { tooNew: true, message: `client version ${api.version} is too new. Maximum supported API version is ${API_VERSION}` };
  }
  if (compareApiVersions(api.version, MIN_API_VERSION) < 0) {
    return {
      tooNew: false,
      message: `client version ${api.version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    };
  }
  return undefined;
}

/** True when the request's API version is at least `v`. Handlers ask this instead of comparing. */
export function atLeast(api: ApiVersionInfo, v: string): boolean {
  return compareApiVersions(api.version, v) >= 0;
}
