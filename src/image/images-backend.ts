import type { Readable } from 'node:stream';
import type { ImagesBackend } from '../api/routes/images';
import { NotImplementedError } from '../errors';
import type { AuthConfig } from '../registry/auth';
import type { Distribution } from './distribution';
import { pullReference } from './distribution';
import type { Filters, ImageService } from './image-service';
import { parsePlatform } from './platform';
import type { ProgressSink } from './progress';

/** Optional image operations provided by their own modules (save/load/import, push, search, login). */
export interface ImageExtras {
  save?(names: string[]): Promise<Readable>;
  load?(body: Readable, opts: { quiet: boolean; progress: ProgressSink }): Promise<void>;
  import?: ImagesBackend['import'];
  push?: ImagesBackend['push'];
  search?: ImagesBackend['search'];
  distributionInspect?: ImagesBackend['distributionInspect'];
  login?: ImagesBackend['login'];
}

/** The image routes' backend: the image service, the distribution client and the extras. */
export function imagesBackend(images: ImageService, distribution: Distribution, extras: ImageExtras = {}): ImagesBackend {
  const missing = (what: string) => () => {
    throw new NotImplementedError(`${what} is not available on this daemon`);
  };
  return {
    list: (o) => images.list(o),
    inspect: (n) => images.inspect(n),
    history: (n) => images.history(n),
    tag: (n, r, t) => images.tag(n, r, t),
    remove: (n, o) => images.remove(n, o),
    prune: (f: Filters) => images.prune(f),
    async pull(fromImage, tag, o) {
      const ref = pullReference(fromImage, tag);
      await distribution.pull(ref, { creds: o.creds, platform: parsePlatform(o.platform), progress: o.progress, signal: o.signal, allTags: !tag });
    },
    import: extras.import ?? missing('import'),
    push: extras.push ?? missing('push'),
    save: extras.save ?? missing('save'),
    load: extras.load ?? missing('load'),
    search: extras.search ?? missing('search'),
    distributionInspect: extras.distributionInspect ?? missing('distribution inspect'),
    login: extras.login ?? ((c: AuthConfig) => missing(`login to ${c.serveraddress}`)()),
  };
}
