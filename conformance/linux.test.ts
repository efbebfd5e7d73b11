import { defineConformanceSuite } from './harness';

defineConformanceSuite({
  name: 'linux',
  factory: async () => (await import('../backends/linux')).createLinuxKernel,
  supports: ['system', 'images'],
  unavailable: async () => (await import('../backends/linux')).linuxUnavailableReason(),
});
