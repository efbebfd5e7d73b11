import { HttpResponse } from 'msw';
import { guardRepository, isValidTag, readBody, repositoryUrl, type Resolver } from './context';
import { isDigest, sha256Digest } from './digest';
import { registryError } from './errors';
import {
  isImageManifestMediaType,
  isIndexMediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from './media-types';
import type { RegistryStore, StoredManifest } from './store';

/**
 * `GET|HEAD /v2/<name>/manifests/<reference>`. Serves the manifest with its stored media
 * type. When the manifest is a list/index and the client's `Accept` names neither that
 * type nor `*\/*`, the linux/amd64 entry is served instead, as distribution does for old
 * clients.
 */
export const getManifest: Resolver = (ctx, request, { name = '', reference = '' }) => {
  const denied = guardRepository(ctx, request, name, ['pull']);
  if (denied) return denied;
  if (!ctx.store.hasRepository(name)) return registryError(404, 'NAME_UNKNOWN', { detail: { name } });
  const invalid = checkReference(reference);
  if (invalid) return invalid;
  const stored = ctx.store.getManifest(name, reference);
  if (!stored) return manifestUnknown(reference);
  const manifest = negotiate(ctx.store, name, stored, acceptedTypes(request));
  if (!manifest) {
    return registryError(404, 'MANIFEST_UNKNOWN', {
      message: `${stored.mediaType} found, but the Accept header does not support it`,
      detail: { reference },
    });
  }
  const headers = {
    'Content-Type': manifest.mediaType,
    'Content-Length': String(manifest.bytes.byteLength),
    'Docker-Content-Digest': manifest.digest,
    ETag: `"${manifest.digest}"`,
  };
  if (request.headers.get('if-none-match') === headers.ETag) return new HttpResponse(null, { status: 304, headers });
  return new HttpResponse(manifest.bytes, { status: 200, headers });
};

/**
 * `PUT /v2/<name>/manifests/<reference>`: validates the manifest (media type, schema
 * version, every referenced blob or child manifest present in the repository) and stores
 * it under its digest, tagging it when `reference` is a tag.
 */
export const putManifest: Resolver = async (ctx, request, { name = '', reference = '' }) => {
  const denied = guardRepository(ctx, request, name, ['pull', 'push']);
  if (denied) return denied;
  const invalidReference = checkReference(reference);
  if (invalidReference) return invalidReference;
  const bytes = await readBody(request);
  const parsed = parseManifest(bytes, request.headers.get('content-type'));
  if ('error' in parsed) return registryError(400, 'MANIFEST_INVALID', { message: `manifest invalid: ${parsed.error}` });
  const missing = missingReferences(ctx.store, name, parsed);
  if (missing) return registryError(400, 'MANIFEST_BLOB_UNKNOWN', { detail: { digest: missing } });
  const digest = sha256Digest(bytes);
  if (isDigest(reference) && reference !== digest) {
    return registryError(400, 'DIGEST_INVALID', { detail: { digest: reference, actual: digest } });
  }
  ctx.store.putManifest(name, parsed.mediaType, bytes, isDigest(reference) ? undefined : reference);
  return new HttpResponse(null, {
    status: 201,
    headers: { Location: repositoryUrl(request, name, `manifests/${digest}`), 'Docker-Content-Digest': digest },
  });
};

/** `DELETE /v2/<name>/manifests/<reference>`: by digest removes the manifest and its tags; by tag, the tag. */
export const deleteManifest: Resolver = (ctx, request, { name = '', reference = '' }) => {
  const denied = guardRepository(ctx, request, name, ['delete']);
  if (denied) return denied;
  const invalid = checkReference(reference);
  if (invalid) return invalid;
  if (!ctx.store.deleteManifest(name, reference)) return manifestUnknown(reference);
  return new HttpResponse(null, { status: 202 });
};

function checkReference(reference: string): Response | undefined {
  if (reference.includes(':')) {
    return isDigest(reference) ? undefined : registryError(400, 'DIGEST_INVALID', { detail: { digest: reference } });
  }
  return isValidTag(reference) ? undefined : registryError(400, 'TAG_INVALID', { detail: { tag: reference } });
}

function manifestUnknown(reference: string): Response {
  return registryError(404, 'MANIFEST_UNKNOWN', { detail: isDigest(reference) ? { Digest: reference } : { Tag: reference } });
}

function acceptedTypes(request: Request): string[] {
  return (request.headers.get('accept') ?? '')
    .split(',')
    .map((part) => part.split(';')[0]?.trim() ?? '')
    .filter(Boolean);
}

function negotiate(store: RegistryStore, name: string, stored: StoredManifest, accepted: string[]): StoredManifest | undefined {
  if (accepted.length === 0 || accepted.includes('*/*') || accepted.includes(stored.mediaType)) return stored;
  if (!isIndexMediaType(stored.mediaType)) return stored;
  const index = JSON.parse(Buffer.from(stored.bytes).toString('utf8')) as ImageIndex;
  const entry = index.manifests.find(
    (d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64' && accepted.includes(d.mediaType),
  );
  return entry ? store.getManifest(name, entry.digest) : undefined;
}

type ParsedManifest =
  | { mediaType: string; kind: 'image'; manifest: ImageManifest }
  | { mediaType: string; kind: 'index'; manifest: ImageIndex };

function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest | { error: string } {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    return { error: `body is not JSON (${(err as Error).message})` };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'body is not a JSON object' };
  const headerType = contentType?.split(';')[0]?.trim();
  const bodyType = typeof body.mediaType === 'string' ? body.mediaType : undefined;
  const mediaType = headerType && (isImageManifestMediaType(headerType) || isIndexMediaType(headerType)) ? headerType : bodyType;
  if (!mediaType) return { error: `unsupported media type ${JSON.stringify(headerType ?? null)}` };
  if (bodyType && bodyType !== mediaType) {
    return { error: `mediaType ${JSON.stringify(bodyType)} does not match Content-Type ${JSON.stringify(mediaType)}` };
  }
  if (body.schemaVersion !== 2) return { error: `schemaVersion must be 2, got ${JSON.stringify(body.schemaVersion)}` };
  if (isImageManifestMediaType(mediaType)) {
    if (!isDescriptor(body.config)) return { error: 'config must be a descriptor with a sha256 digest' };
    if (!Array.isArray(body.layers) || !body.layers.every(isDescriptor)) {
      return { error: 'layers must be an array of descriptors with sha256 digests' };
    }
    return { mediaType, kind: 'image', manifest: body as unknown as ImageManifest };
  }
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(body.manifests) || !body.manifests.every(isDescriptor)) {
      return { error: 'manifests must be an array of descriptors with sha256 digests' };
    }
    return { mediaType, kind: 'index', manifest: body as unknown as ImageIndex };
  }
  return { error: `unsupported media type ${JSON.stringify(mediaType)}` };
}

function isDescriptor(value: unknown): value is Descriptor {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Partial<Descriptor>;
  return typeof d.mediaType === 'string' && typeof d.digest === 'string' && isDigest(d.digest) && typeof d.size === 'number';
}

/** The first referenced digest the repository lacks; foreign layers (with `urls`) are not checked. */
function missingReferences(store: RegistryStore, name: string, parsed: ParsedManifest): string | undefined {
  if (parsed.kind === 'index') {
    return parsed.manifest.manifests.find((d) => !store.getManifest(name, d.digest))?.digest;
  }
  const blobs = [parsed.manifest.config, ...parsed.manifest.layers.filter((d) => !d.urls?.length)];
  return blobs.find((d) => !store.getBlob(name, d.digest))?.digest;
}
