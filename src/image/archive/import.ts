/**
 * `docker import` (POST /images/create?fromSrc=-|URL): a root filesystem tarball (plain or
 * gzip) from the request body or fetched over http(s) becomes a one-layer image, as dockerd's
 * ImageService.ImportImage makes it: config from `changes` (see changes.ts), os/architecture
 * from `platform` or the host, `comment` and one history entry "Imported from <src>" (or the
 * `message`). Tagged when `repo` is given; answers `{"status":"sha256:<id>"}`; publishes an
 * `import` image event (and `tag` when tagged).
 *
 * Everything the query can get wrong (repo, tag, platform, changes) is refused before the body
 * is read. A failure after the layer is registered removes it again.
 */
import type { IncomingMessage } from 'node:http';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { ForbiddenError, InvalidParameterError, NotFoundError, SystemError, UnauthorizedError } from '../../errors';
import { rfc3339Nano } from '../../system/system-service';
import { DAEMON_VERSION } from '../../version';
import type { Digest } from '../digest';
import { hostPlatform, parsePlatform } from '../platform';
import { progressReporter, type ProgressSink } from '../progress';
import { familiarName, parseReference, withTag, type Reference } from '../reference';
import { applyChanges } from './changes';
import { decompressor, detectCompression, MAGIC_BYTES } from './compression';
import { publishImageEvent, type ArchiveDeps } from './deps';
import { goJson, sortedKeys } from './go-json';
import { goContainerConfig } from './legacy-v1';

export interface ImportOptions {
  repo?: string;
  tag?: string;
  message?: string;
  changes: string[];
  platform?: string;
  progress: ProgressSink;
}

const MAX_REDIRECTS = 10;

export async function importImage(deps: ArchiveDeps, source: { url: string } | { body: Readable }, opts: ImportOptions): Promise<void> {
  const ref = importReference(opts.repo, opts.tag);
  const platform = parsePlatform(opts.platform) ?? hostPlatform();
  if (platform.os !== 'linux') throw new InvalidParameterError(`operating system "${platform.os}" is not supported: this daemon runs linux images`);
  const config = applyChanges(opts.changes);

  let body: Readable;
  let src = '-';
  if ('url' in source) {
    src = source.url.includes('://') ? source.url : `http://${source.url}`;
    const res = await fetchSource(src);
    opts.progress({ status: `Downloading from ${src}` });
    body = withProgress(res, Number(res.headers['content-length'] ?? -1), opts.progress);
  } else {
    body = source.body ?? Readable.from([]);
  }
  const message = opts.message || `Imported from ${src}`;
  const tarStream = await plainTar(body);

  const { images } = deps;
  const before = new Set(images.layers.all().map((l) => l.chainId));
  const layer = await images.layers.register(null, { tar: tarStream });
  let id: Digest;
  try {
    const created = rfc3339Nano(new Date());
    const raw = Buffer.from(
      goJson(
        sortedKeys({
          architecture: platform.architecture,
          ...(platform.variant ? { variant: platform.variant } : {}),
          comment: message,
          config: goContainerConfig(config),
          container_config: goContainerConfig(undefined),
          created,
          docker_version: DAEMON_VERSION,
          history: [{ created, comment: message }],
          os: platform.os,
          rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        }),
      ),
    );
    id = (await images.images.create(raw)).id;
  } catch (e) {
    if (!before.has(layer.chainId) && !images.images.all().some((i) => i.chain.includes(layer.chainId))) await images.layers.remove(layer.chainId).catch(() => undefined);
    throw e;
  }
  if (ref) await images.tag(id, familiarName(ref), ref.tag);
  publishImageEvent(deps, id, 'import');
  opts.progress({ status: id });
}

/** The tag to give the import: `repo` (no digest) with `tag` or its own tag, or none. */
function importReference(repo: string | undefined, tag: string | undefined): Reference | undefined {
  if (!repo) return undefined;
  const ref = parseReference(repo);
  if (ref.digest) throw new InvalidParameterError('cannot import digest reference');
  return withTag(ref, tag || ref.tag || 'latest');
}

/** GET the source URL (following redirects); HTTP errors become Docker's error classes. */
async function fetchSource(url: string, redirects = 0): Promise<IncomingMessage> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidParameterError(`invalid import source URL ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidParameterError(`unsupported import source URL scheme "${u.protocol.slice(0, -1)}": use http or https`);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsGet : httpGet)(u, resolve);
    req.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOTFOUND' ? new NotFoundError(`Get "${url}": ${e.message}`) : new SystemError(`Get "${url}": ${e.message}`)));
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    if (redirects >= MAX_REDIRECTS) throw new SystemError(`Get "${url}": stopped after ${MAX_REDIRECTS} redirects`);
    return fetchSource(new URL(res.headers.location, u).toString(), redirects + 1);
  }
  if (status < 400) return res;
  let text = '';
  for await (const chunk of res) if (text.length < 4096) text += String(chunk);
  const msg = `failed to GET ${url} with status ${status} ${res.statusMessage ?? ''}: ${text.trim().slice(0, 4096)}`;
  if (status === 404) throw new NotFoundError(msg);
  if (status === 400) throw new InvalidParameterError(msg);
  if (status === 401) throw new UnauthorizedError(msg);
  if (status === 403) throw new ForbiddenError(msg);
  throw new SystemError(msg);
}

/** dockerd's "Importing" progress (no id) while the download is read. */
function withProgress(res: IncomingMessage, total: number, progress: ProgressSink): Readable {
  const report = progressReporter((m) => progress({ ...m, id: undefined }), '', 'Importing', total);
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      report(seen);
      cb(null, chunk);
    },
    flush(cb) {
      report(seen, true);
      cb();
    },
  });
  res.on('error', (e) => counter.destroy(e));
  return res.pipe(counter);
}

/** The body as a plain tar: gzip inflated, other compressions and an empty body refused. */
async function plainTar(body: Readable): Promise<Readable> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let have = 0;
  while (have < MAGIC_BYTES) {
    const step = await it.next();
    if (step.done) break;
    const chunk = Buffer.from(step.value);
    head.push(chunk);
    have += chunk.length;
  }
  if (have === 0) throw new InvalidParameterError('the imported archive is empty: expected a tar archive (plain or gzip)');
  const first = Buffer.concat(head);
  const inflate = decompressor(detectCompression(first), 'the imported archive');
  async function* all() {
    yield first;
    for (let s = await it.next(); !s.done; s = await it.next()) yield s.value;
  }
  const plain = Readable.from(all(), { objectMode: false });
  if (!inflate) return plain;
  plain.on('error', (e) => inflate.destroy(e));
  return plain.pipe(inflate);
}
