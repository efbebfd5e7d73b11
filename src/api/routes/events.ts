import type { FastifyInstance } from 'fastify';
import { InvalidParameterError } from '../../errors';
import type { DockerEvent, EventBus } from '../../events/events';
import { parseFilters, type Filters } from '../../image/image-service';
import { dockerHeaders } from '../stream';
import { abortOnClose } from './system';

const FILTER_KEYS = ['container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'service', 'type', 'volume', 'config', 'secret'];

/** `since`/`until`: Unix seconds (fractions allowed), RFC 3339, or a duration before now. Nanoseconds. */
export function parseEventTime(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^\d+(\.\d{1,9})?$/.test(v)) {
    const [s, frac = ''] = v.split('.');
    return Number(s) * 1e9 + Number(frac.padEnd(9, '0'));
  }
  const d = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(v);
  if (d) {
    const mult: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    return Date.now() * 1e6 - Number(d[1]) * mult[d[2]!]!;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidParameterError(`invalid timestamp: ${v}`);
  return t * 1e6;
}

/** Docker's event filters: each key's values are alternatives; keys must all match. */
export function eventMatches(e: DockerEvent, f: Filters): boolean {
  const attr = e.Actor.Attributes;
  const any = (k: string, pred: (v: string) => boolean) => !f[k]?.length || f[k]!.some(pred);
  const nameOrId = (v: string) => e.Actor.ID === v || e.Actor.ID.startsWith(v) || attr.name === v;
  return (
    any('type', (v) => e.Type === v) &&
    any('event', (v) => e.Action === v || e.Action.startsWith(`${v}:`)) &&
    any('container', (v) => e.Type === 'container' && nameOrId(v)) &&
    any('image', (v) => (e.Type === 'image' && (nameOrId(v) || attr.name === v)) || attr.image === v || attr.image?.split(':')[0] === v) &&
    any('volume', (v) => e.Type === 'volume' && nameOrId(v)) &&
    any('network', (v) => e.Type === 'network' && nameOrId(v)) &&
    any('daemon', (v) => e.Type === 'daemon' && nameOrId(v)) &&
    any('scope', (v) => e.scope === v) &&
    (f.label ?? []).every((l) => {
      const eq = l.indexOf('=');
      return eq < 0 ? l in attr : attr[l.slice(0, eq)] === l.slice(eq + 1);
    })
  );
}

export function registerEventRoutes(app: FastifyInstance, bus: EventBus): void {
  app.get('/events', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const filters = parseFilters(q.filters);
    for (const k of Object.keys(filters)) if (!FILTER_KEYS.includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    const since = parseEventTime(q.since);
    const until = parseEventTime(q.until);
    if (since !== undefined && until !== undefined && until < since) throw new InvalidParameterError('since time must be before until time');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...dockerHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    const send = (e: DockerEvent) => {
      if (eventMatches(e, filters)) res.write(`${JSON.stringify(e)}\n`);
    };
    const pending: DockerEvent[] = [];
    let replaying = true;
    const unsubscribe = bus.subscribe((e) => {
      if (replaying) pending.push(e);
      else if (until === undefined || e.timeNano <= until) send(e);
    });
    if (since !== undefined) for (const e of bus.since(since)) if (until === undefined || e.timeNano <= until) send(e);
    replaying = false;
    for (const e of pending) send(e);
    const stop = () => {
      unsubscribe();
      clearTimeout(timer);
      if (!res.writableEnded) res.end();
    };
    const nowNs = Date.now() * 1e6;
    const timer = until !== undefined ? setTimeout(stop, Math.max(0, (until - nowNs) / 1e6)) : undefined;
    abortOnClose(req.raw).addEventListener('abort', stop);
    res.once('close', stop);
  });
}
