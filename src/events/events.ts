import { EventEmitter } from 'node:events';

/** Docker's event object (GET /events). */
export interface DockerEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number;
  timeNano: number;
  // Legacy fields Docker still sends for containers and images.
  status?: string;
  id?: string;
  from?: string;
}

/**
 * The daemon's event log: services publish, /events subscribers read. Keeps the most recent
 * events in memory so `since` can replay them.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly recent: DockerEvent[] = [];

  constructor(private readonly keep = 1024) {
    this.emitter.setMaxListeners(0);
  }

  publish(type: DockerEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): DockerEvent {
    const nowNs = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    const ev: DockerEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      ev.status = action;
      ev.id = id;
      if (attributes.image) ev.from = attributes.image;
    }
    this.recent.push(ev);
    if (this.recent.length > this.keep) this.recent.shift();
    this.emitter.emit('event', ev);
    return ev;
  }

  subscribe(fn: (e: DockerEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }

  get subscribers(): number {
    return this.emitter.listenerCount('event');
  }

  since(timeNano: number): DockerEvent[] {
    return this.recent.filter((e) => e.timeNano >= timeNano);
  }
}
