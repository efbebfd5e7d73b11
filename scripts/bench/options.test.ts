import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './options';

const env = { DOCKER_HOST: 'unix:///run/other.sock' };

describe('parseBenchArgs', () => {
  it('has the documented defaults', () => {
    const o = parseBenchArgs([], {});
    expect(o).toMatchObject({ backend: 'fake', runs: 10, warmupRuns: 1, requests: 2000, warmup: 200, concurrency: 8, settleMs: 1500, pollMs: 0, only: [], outDir: '.bench', nodeArgs: [] });
    expect(o.against).toBeUndefined();
  });

  it('takes --against ADDR, or DOCKER_HOST when the address is left out', () => {
    expect(parseBenchArgs(['--against', 'unix:///a.sock'], env).against).toEqual({ kind: 'unix', path: '/a.sock' });
    expect(parseBenchArgs(['--against'], env).against).toEqual({ kind: 'unix', path: '/run/other.sock' });
    expect(parseBenchArgs(['--against', '--runs', '3'], env)).toMatchObject({ against: { path: '/run/other.sock' }, runs: 3 });
    expect(parseBenchArgs(['--against-host'], env).against).toEqual({ kind: 'unix', path: '/run/other.sock' });
    expect(() => parseBenchArgs(['--against'], {})).toThrow(/DOCKER_HOST/);
  });

  it('splits --against-pid, --against-start and --only, and accepts values that start with a dash', () => {
    const o = parseBenchArgs(['--against', 'tcp://127.0.0.1:2375', '--against-pid', '10,20', '--against-start', "dockerd -H 'unix:///x y'", '--only', 'start, memory', '--node-args', '--max-semi-space-size=1 --jitless'], {});
    expect(o.againstPids).toEqual([10, 20]);
    expect(o.againstStart).toEqual(['dockerd', '-H', 'unix:///x y']);
    expect(o.only).toEqual(['start', 'memory']);
    expect(o.nodeArgs).toEqual(['--max-semi-space-size=1', '--jitless']);
    expect(parseBenchArgs(['--daemon-args', '--exec-opt native.runtime=crun'], {}).daemonArgs).toEqual(['--exec-opt', 'native.runtime=crun']);
  });

  it('names the flag and the value it refuses', () => {
    expect(() => parseBenchArgs(['--runs', '0'], {})).toThrow('--runs must be an integer >= 1, got "0"');
    expect(() => parseBenchArgs(['--backend', 'vm'], {})).toThrow('--backend must be fake or linux, got "vm"');
    expect(() => parseBenchArgs(['--against-pid', 'x'], env)).toThrow(/--against-pid/);
    expect(() => parseBenchArgs(['--against-pid', '1'], {})).toThrow(/need --against/);
    expect(() => parseBenchArgs(['--against', 'fd://3'], {})).toThrow(/--against fd:\/\/3/);
    expect(() => parseBenchArgs(['--bogus'], {})).toThrow(/bogus/);
  });
});
