import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ImagesBackend } from '../api/routes/images';
import type { DaemonConfig } from '../config/daemon-options';
import type { EventBus } from '../events/events';
import { Distribution } from '../image/distribution';
import { ImageService } from '../image/image-service';
import { ImageStore } from '../image/image-store';
import { archiveExtras } from '../image/archive';
import { BlobSources } from '../image/blob-sources';
import { inspectDistribution } from '../image/distribution-inspect';
import { imagesBackend, type ImageExtras } from '../image/images-backend';
import { pushImage } from '../image/push';
import { LayerStore } from '../image/layer-store';
import { ReferenceStore } from '../image/reference-store';
import type { Kernel } from '../kernel';
import { DEFAULT_CERTS_DIR } from '../registry/endpoints';
import { login } from '../registry/login';
import type { RegistryAccess } from '../registry/registry-access';
import { RegistryRules } from '../registry/registry-config';
import { searchImages } from '../registry/search';
import { nodeTransport } from '../registry/transport';

export interface ImageParts {
  service: ImageService;
  distribution: Distribution;
  backend: ImagesBackend;
}

/**
 * The image side of the daemon, on the kernel's storage driver: state under
 * `<graph>/image/<driver>/` (layerdb, imagedb, repositories.json) as Docker keeps it.
 */
export async function composeImages(opts: {
  config: DaemonConfig;
  kernel: Kernel;
  events: EventBus;
  log: Logger;
  env: NodeJS.ProcessEnv;
  certsDir?: string;
}): Promise<ImageParts | undefined> {
  const { config, kernel, events, log } = opts;
  const driver = kernel.storage;
  if (!driver) return undefined;
  const root = join(config.graph, 'image', driver.name);
  const layers = new LayerStore(join(root, 'layerdb'), driver, log.child({ component: 'layers' }));
  const images = new ImageStore(join(root, 'imagedb'), log.child({ component: 'images' }));
  const refs = new ReferenceStore(join(root, 'repositories.json'));
  await layers.load();
  await images.load();
  await refs.load();
  const service = new ImageService(images, layers, refs, driver, events, log.child({ component: 'images' }));
  const access: RegistryAccess = {
    transport: kernel.registryTransport ?? nodeTransport(opts.env),
    rules: RegistryRules.fromConfig(config),
    certsDir: opts.certsDir ?? opts.env.DOCKER_CERTS_DIR ?? DEFAULT_CERTS_DIR,
  };
  const blobSources = new BlobSources(join(root, 'distribution'));
  const distribution = new Distribution({
    images: service,
    ...access,
    tmpDir: join(config.graph, 'tmp'),
    events,
    log: log.child({ component: 'distribution' }),
    blobSources,
  });
  await distribution.cleanTmp();
  const pushDeps = { ...access, images: service, blobSources, events, log: log.child({ component: 'push' }) };
  const extras: ImageExtras = {
    ...archiveExtras({ images: service, events, tmpDir: join(config.graph, 'tmp'), log: log.child({ component: 'archive' }) }),
    push: (name, tag, o) => pushImage(pushDeps, name, tag, o),
    search: async (term, o) => (await searchImages(access, term, o)).map((r) => ({ ...r })),
    distributionInspect: async (name, creds) => ({ ...(await inspectDistribution(access, name, creds)) }),
    login: (creds) => login(access, creds),
  };
  return { service, distribution, backend: imagesBackend(service, distribution, extras) };
}
