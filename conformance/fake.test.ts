import { defineConformanceSuite } from './harness';

defineConformanceSuite({
  name: 'fake',
  factory: async () => (await import('../fakes')).createFakeKernel,
  supports: ['system', 'attach-ws', 'images', 'offline-hub', 'images-registry', 'volumes', 'images-archive', 'container-fs', 'container-stats', 'containers', 'container-volumes', 'cli-containers', 'emulator-control'],
});
