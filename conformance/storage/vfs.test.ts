import { defineStorageDriverSuite } from './contract';

await defineStorageDriverSuite('vfs', {
  open: async (home) => (await import('../../backends/linux/storage/vfs')).createVfsDriver(home),
  devices: process.getuid?.() === 0,
});
