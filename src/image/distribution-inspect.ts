/**
 * `GET /distribution/{name}/json`: what the registry holds for a reference, without pulling
 * (dockerd 20.10's distribution router):
 *
 *   {"Descriptor":{"mediaType","digest","size"},"Platforms":[{"architecture","os",...}]}
 *
 * A manifest list or OCI index reports each entry's platform; a single manifest reports the
 * platform read from its config blob (architecture, os, os.version, os.features, variant;
 * omitted when the config names neither os nor architecture). A name without tag or digest
 * means `:latest`. Registry errors keep Docker's text (`manifest unknown: manifest unknown`,
 * 404). Endpoints are the pull ones (mirrors first for Docker Hub).
 */
import { DigestMismatchError, sha256 } from './digest';
import type { AuthConfig } from '../registry/auth';
import { openRepository, type RegistryAccess } from '../registry/registry-access';
import { registryFailure } from '../registry/registry-errors';
import { MEDIA } from '../registry/session';
import { readBody } from '../registry/transport';
import { parseReference, registryHost, remoteName, withDefaultTag } from './reference';

export interface OciPlatform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: OciPlatform[];
}

const ACCEPT = [MEDIA.dockerList, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.ociManifest].join(', ');

/** ocispec.Platform as Go marshals it: architecture, os, then the optional fields when set. */
export function platformOf(p: Record<string, unknown>): OciPlatform {
  const out: OciPlatform = { architecture: String(p.architecture ?? ''), os: String(p.os ?? '') };
  if (typeof p['os.version'] === 'string' && p['os.version']) out['os.version'] = p['os.version'];
  if (Array.isArray(p['os.features']) && p['os.features'].length) out['os.features'] = (p['os.features'] as unknown[]).map(String);
  if (typeof p.variant === 'string' && p.variant) out.variant = p.variant;
  return out;
}

export async function inspectDistribution(access: RegistryAccess, name: string, creds: AuthConfig): Promise<DistributionInspect> {
  const ref = withDefaultTag(parseReference(name));
  const s = await openRepository(access, registryHost(ref), remoteName(ref), creds, ['pull']);
  const res = await s.request('GET', `manifests/${ref.digest ?? ref.tag!}`, { headers: { accept: ACCEPT } });
  if (res.status !== 200) throw await registryFailure(res);
  const body = await readBody(res);
  const digest = ref.digest ?? res.headers['docker-content-digest'] ?? sha256(body);
  if (sha256(body) !== digest) throw new DigestMismatchError(`manifest verification failed for digest ${digest}`);
  const manifest = JSON.parse(body.toString('utf8')) as {
    mediaType?: string;
    config?: { digest: string };
    manifests?: { platform?: Record<string, unknown> }[];
  };
  const mediaType = manifest.mediaType ?? (res.headers['content-type'] ?? '').split(';')[0]!.trim();
  const platforms: OciPlatform[] = [];
  if (manifest.manifests) {
    for (const m of manifest.manifests) if (m.platform) platforms.push(platformOf(m.platform));
  } else if (manifest.config?.digest) {
    const cres = await s.request('GET', `blobs/${manifest.config.digest}`);
    if (cres.status === 200) {
      try {
        const p = platformOf(JSON.parse((await readBody(cres, 16 * 1024 * 1024)).toString('utf8')) as Record<string, unknown>);
        if (p.os || p.architecture) platforms.push(p);
      } catch {
        /* dockerd ignores an unreadable config here */
      }
    } else {
      await readBody(cres).catch(() => undefined);
    }
  }
  return { Descriptor: { mediaType, digest, size: body.length }, Platforms: platforms };
}
