import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { Engine } from '../../engine/engine';
import { InvalidParameterError } from '../../errors';
import { parseFilters } from '../../image/image-service';
import type { Filters } from '../../volume/volume-filters';
import type { CreateVolumeRequest } from '../../volume/volume-service';
import { atLeast, type ApiVersionInfo } from '../version-adapter';
import { abortOnClose } from './system';

/** What the volume routes need from the daemon. */
export interface VolumesBackend {
  list(filters: Filters): Promise<{ Volumes: object[]; Warnings: string[] | null }>;
  create(req: CreateVolumeRequest): Promise<object>;
  inspect(name: string): Promise<object>;
  remove(name: string, opts: { force: boolean }): Promise<void>;
  prune(filters: Filters, opts: { all: boolean }): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
}

type Q = Record<string, string | undefined>;
const bool = (v: string | undefined) => v === '1' || v === 'true' || v === 'True';

/** Go's name for the JSON type of `v`, for encoding/json's unmarshal message. */
function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;
}

function unmarshalError(v: unknown, field: string, goType: string): InvalidParameterError {
  return new InvalidParameterError(`json: cannot unmarshal ${jsonType(v)} into Go struct field VolumeCreateBody.${field} of type ${goType}`);
}

function stringField(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw unmarshalError(v, field, 'string');
  return v;
}

function mapField(body: Record<string, unknown>, field: string): Record<string, string> | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw unmarshalError(v, field, 'map[string]string');
  for (const value of Object.values(v)) if (typeof value !== 'string') throw unmarshalError(value, field, 'string');
  return v as Record<string, string>;
}

/** The create body, checked field by field with encoding/json's messages (dockerd decodes it so). */
export function parseCreateBody(body: unknown): CreateVolumeRequest {
  if (body === undefined) throw new InvalidParameterError('got EOF while reading request body');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidParameterError(`json: cannot unmarshal ${jsonType(body)} into Go value of type volume.VolumeCreateBody`);
  }
  const b = body as Record<string, unknown>;
  return { Name: stringField(b, 'Name'), Driver: stringField(b, 'Driver'), DriverOpts: mapField(b, 'DriverOpts'), Labels: mapField(b, 'Labels') };
}

/** A body sent without a Content-Type arrives as a stream: dockerd reads it as JSON all the same. */
async function jsonBody(req: FastifyRequest): Promise<unknown> {
  if (!(req.body instanceof Readable)) return req.body;
  const ct = req.headers['content-type'];
  if (ct) throw new InvalidParameterError(`Content-Type specified (${ct}) must be 'application/json'`);
  const chunks: Buffer[] = [];
  for await (const c of req.body) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidParameterError(`invalid JSON: ${(e as Error).message}`);
  }
}

/**
 * Which volumes prune considers, by API version: before 1.42 every unused local volume (and
 * `all` is an unknown filter); from 1.42 anonymous ones only, unless the filter `all` is true.
 */
export function pruneScope(api: ApiVersionInfo, filters: Filters): { filters: Filters; all: boolean } {
  if (!atLeast(api, '1.42')) return { filters, all: true };
  const { all: values, ...rest } = filters;
  if (!values || values.length === 0) return { filters: rest, all: false };
  if (values.length > 1) throw new InvalidParameterError(`invalid filter 'all=[${values.join(' ')}]': only one value is expected`);
  const v = values[0]!;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return { filters: rest, all: true };
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return { filters: rest, all: false };
  throw new InvalidParameterError(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

export function registerVolumeRoutes(app: FastifyInstance, engine: Engine, backend: VolumesBackend): void {
  const run = <T>(req: FastifyRequest, name: string, fn: () => Promise<T>) => engine.run(name, fn, { signal: abortOnClose(req.raw) });

  app.get('/volumes', async (req) => {
    const q = req.query as Q;
    return run(req, 'volumes.list', () => backend.list(parseFilters(q.filters)));
  });

  app.post('/volumes/create', async (req, reply) => {
    const body = parseCreateBody(await jsonBody(req));
    const volume = await run(req, 'volumes.create', () => backend.create(body));
    return reply.code(201).send(volume);
  });

  app.post('/volumes/prune', async (req) => {
    const q = req.query as Q;
    const scope = pruneScope(req.api, parseFilters(q.filters));
    return run(req, 'volumes.prune', () => backend.prune(scope.filters, { all: scope.all }));
  });

  app.get('/volumes/:name', async (req) => {
    const { name } = req.params as { name: string };
    return run(req, 'volumes.inspect', () => backend.inspect(name));
  });

  app.delete('/volumes/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    const q = req.query as Q;
    await run(req, 'volumes.delete', () => backend.remove(name, { force: bool(q.force) }));
    return reply.code(204).send();
  });
}
