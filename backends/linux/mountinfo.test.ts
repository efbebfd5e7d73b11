import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountsUnder, parseMountInfo } from './mountinfo';

const SAMPLE = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '30 22 0:26 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
  '41 22 0:40 / /data/.removing-a\\040b-1/merged rw - overlay overlay rw,lowerdir=l/X',
  '42 22 0:41 / /data/c/merged rw - overlay overlay rw,lowerdir=l/Y',
  '43 42 0:42 / /data/c/merged/proc rw - proc proc rw',
  '44 22 0:43 / /database rw - tmpfs tmpfs rw',
  '',
].join('\n');

describe('mountinfo', () => {
  it('reads the mount point (unescaped), the type and the super options', () => {
    const m = parseMountInfo(SAMPLE);
    expect(m).toHaveLength(6);
    expect(m[1]).toEqual({ mountPoint: '/sys/fs/cgroup/memory', fstype: 'cgroup', superOptions: 'rw,memory' });
    expect(m[2]!.mountPoint).toBe('/data/.removing-a b-1/merged');
  });

  it('lists the mounts at or below a directory, newest first, and not its namesakes', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsd-mountinfo-'));
    try {
      const file = join(tmp, 'mountinfo');
      writeFileSync(file, SAMPLE);
      expect(mountsUnder('/data/', file)).toEqual(['/data/c/merged/proc', '/data/c/merged', '/data/.removing-a b-1/merged']);
      expect(mountsUnder('/nowhere', file)).toEqual([]);
      expect(mountsUnder('/data', join(tmp, 'missing'))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
