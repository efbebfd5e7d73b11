import { expect, it } from 'vitest';
import { daemonArgs } from './main';
it('finds the daemon form among global and daemon options, never after a command', () => {
  expect(daemonArgs(['--backend', 'fake', '-g', '/x', '-d', '-H', 'unix:///a'])).toEqual(['--backend', 'fake', '-g', '/x', '-H', 'unix:///a']);
  expect(daemonArgs(['run', '-d', 'busybox'])).toBeUndefined();
  expect(daemonArgs(['-H', 'unix:///a', 'version'])).toBeUndefined();
  expect(daemonArgs(['-D', 'daemon', '--icc=false'])).toEqual(['-D', '--icc=false']);
});
