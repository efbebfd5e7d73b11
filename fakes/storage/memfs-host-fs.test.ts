import { describe, expect, it } from 'vitest';
import { memfsHostFs } from './memfs-host-fs';

/** memfs keeps every node in its inode table; count them to see what a removal frees. */
function nodeCount(fs: ReturnType<typeof memfsHostFs>): number {
  return Object.keys((fs.vol as unknown as { _core: { inodes: Record<number, unknown> } })._core.inodes).length;
}

describe('memfsHostFs frees what it removes', () => {
  it('rm of a tree releases its nodes and their contents', async () => {
    const fs = memfsHostFs();
    await fs.mkdir('/layers', { recursive: true });
    const baseline = nodeCount(fs);
    for (let i = 0; i < 20; i++) {
      await fs.mkdir(`/layers/l${i}/bin`, { recursive: true });
      await fs.writeFileAtomic(`/layers/l${i}/bin/busybox`, Buffer.alloc(4096, 1));
      await fs.symlink('busybox', `/layers/l${i}/bin/sh`);
      await fs.rm(`/layers/l${i}`, { recursive: true, force: true });
    }
    expect(nodeCount(fs)).toBe(baseline);
  });

  it('replacing a file by rename releases the old one', async () => {
    const fs = memfsHostFs();
    await fs.mkdir('/etc', { recursive: true });
    await fs.writeFileAtomic('/etc/hosts', 'a');
    const baseline = nodeCount(fs);
    for (let i = 0; i < 20; i++) await fs.writeFileAtomic('/etc/hosts', `v${i}`);
    expect(nodeCount(fs)).toBe(baseline);
    expect((await fs.readFile('/etc/hosts')).toString()).toBe('v19');
  });

  it('rm of a missing path with force is quiet, without force it fails with ENOENT', async () => {
    const fs = memfsHostFs();
    await fs.rm('/nope', { force: true });
    await expect(fs.rm('/nope')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('chrootFs over memfs', () => {
  it('a read stream destroyed early closes its file, so removing the file frees it', async () => {
    const { chrootFs } = await import('../../src/kernel/chroot-fs');
    const fs = memfsHostFs();
    await fs.mkdir('/root/bin', { recursive: true });
    const baseline = nodeCount(fs);
    const view = chrootFs(fs, '/root');
    for (let i = 0; i < 10; i++) {
      await fs.writeFileAtomic('/root/bin/busybox', Buffer.alloc(256 * 1024, 1));
      await new Promise<void>((resolve) => {
        const s = view.createReadStream('/bin/busybox');
        s.once('data', () => {
          s.destroy();
          setImmediate(resolve);
        });
      });
      await fs.rm('/root/bin/busybox');
    }
    const fds = Object.keys((fs.vol as unknown as { _core: { fds: Record<number, unknown> } })._core.fds ?? {}).length;
    expect(fds).toBe(0);
    expect(nodeCount(fs)).toBe(baseline);
  });
});
