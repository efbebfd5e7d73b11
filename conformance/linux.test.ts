import { defineConformanceSuite } from './harness';

defineConformanceSuite({
  name: 'linux',
  factory: async () => (await import('../backends/linux')).createLinuxKernel,
  supports: ['system', 'attach-ws', 'images', 'images-registry', 'volumes', 'images-archive', 'container-fs', 'container-stats', 'containers', 'container-volumes', 'cli-containers'],
  unavailable: async () => (await import('../backends/linux')).linuxUnavailableReason(),
});
