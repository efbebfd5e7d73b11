import type { Logger } from 'pino';
import type { EventBus } from '../../events/events';
import type { Digest } from '../digest';
import type { ImageService } from '../image-service';

/** What save, load and import need from the daemon. */
export interface ArchiveDeps {
  images: ImageService;
  events: EventBus;
  /** Scratch space under the graph root (`<graph>/tmp`), emptied at daemon start. */
  tmpDir: string;
  log: Logger;
}

/**
 * Publish an image event as dockerd's LogImageEvent does: the actor is the image ID, its
 * attributes are the image's labels plus `name` (here the image ID as well).
 */
export function publishImageEvent(deps: ArchiveDeps, id: Digest, action: 'save' | 'load' | 'import'): void {
  const labels = deps.images.images.get(id)?.config.config?.Labels ?? {};
  deps.events.publish('image', action, id, { ...labels, name: id });
}
