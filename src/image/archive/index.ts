/**
 * Image archives: `docker save` (save.ts), `docker load` (load.ts), `docker import`
 * (import.ts), as the ImageExtras of the image routes' backend.
 */
import type { ImageExtras } from '../images-backend';
import type { ArchiveDeps } from './deps';
import { importImage } from './import';
import { loadImages } from './load';
import { saveImages } from './save';

export type { ArchiveDeps } from './deps';

export function archiveExtras(deps: ArchiveDeps): Pick<ImageExtras, 'save' | 'load' | 'import'> {
  return {
    save: (names) => saveImages(deps, names),
    load: (body, opts) => loadImages(deps, body, opts),
    import: (source, opts) => importImage(deps, source, opts),
  };
}
