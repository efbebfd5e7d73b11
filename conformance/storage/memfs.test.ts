import { defineStorageDriverSuite } from './contract';

await defineStorageDriverSuite('memfs', {
  open: async (home) => (await import('../../fakes/storage/memfs-driver')).createMemfsDriver(home),
  devices: true,
});
