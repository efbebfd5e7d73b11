import { describe, expect, it } from 'vitest';
import type { Benchmark, BenchContext } from './benchmark';
import { parseBenchArgs } from './options';
import { BENCHMARKS, selectBenchmarks } from './registry';
import { formatRatio, renderTable } from './report';
import { runBenchmarks, toRows } from './runner';
import type { Target } from './targets';

function target(side: Target['side']): Target {
  return { side, description: `${side} daemon`, session: async () => Promise.reject(new Error('unused')), close: async () => undefined };
}

const ctx: BenchContext = { options: parseBenchArgs([], {}), workDir: '/nonexistent', progress: () => undefined };

const fixed: Benchmark = {
  name: 'fixed',
  description: 'reports a fixed time and rate per side',
  async run(t) {
    const ours = t.side === 'ours';
    return [
      { key: 'fixed.ms', label: 'time', unit: 'ms', value: ours ? 50 : 100, better: 'lower' },
      { key: 'fixed.rps', label: 'rate', unit: 'req/s', value: ours ? 100 : 400, better: 'higher', note: 'two samples' },
    ];
  },
};
const broken: Benchmark = { name: 'broken', description: 'always fails', run: async () => Promise.reject(new Error('socket vanished')) };
const oursOnly: Benchmark = { ...fixed, name: 'ours-only', skipReason: (t) => (t.side === 'theirs' ? 'measures our runtime only' : undefined) };

describe('runner', () => {
  it('pairs metrics by key, computes ours/theirs and records failures and skips without stopping', async () => {
    const results = await runBenchmarks([broken, fixed, oursOnly], target('ours'), target('theirs'), ctx);
    expect(results[0]).toMatchObject({ ours: { error: 'socket vanished' }, theirs: { error: 'socket vanished' } });
    expect(results[2]!.theirs).toEqual({ skipped: 'measures our runtime only' });
    const rows = toRows(results);
    expect(rows.map((r) => [r.benchmark, r.key, r.ratio])).toEqual([
      ['fixed', 'fixed.ms', 0.5],
      ['fixed', 'fixed.rps', 0.25],
      ['ours-only', 'fixed.ms', undefined],
      ['ours-only', 'fixed.rps', undefined],
    ]);
    expect(formatRatio(rows[0]!)).toBe('0.50×  ours better');
    expect(formatRatio(rows[1]!)).toBe('0.25×  theirs better');

    const table = renderTable(rows, results, { ours: 'ours daemon', theirs: 'theirs daemon' });
    expect(table).toMatch(/time\s+50\.0 ms\s+100\.0 ms\s+0\.50×  ours better/);
    expect(table).toContain('broken (theirs) failed: socket vanished');
    expect(table).toContain('ours-only (theirs) not run: measures our runtime only');
    expect(table).toContain('rate: theirs: two samples');
  });

  it('runs a benchmark with runPaired once for both sides, and alone where one side is skipped', async () => {
    const calls: string[] = [];
    const paired: Benchmark = {
      ...fixed,
      name: 'paired',
      async run(t) {
        calls.push(`run ${t.side}`);
        return fixed.run(t, ctx);
      },
      async runPaired(o, t) {
        calls.push(`paired ${o.side}+${t.side}`);
        return { ours: await fixed.run(o, ctx), theirs: await fixed.run(t, ctx) };
      },
    };
    const rows = toRows(await runBenchmarks([paired], target('ours'), target('theirs'), ctx));
    expect(calls).toEqual(['paired ours+theirs']);
    expect(rows.map((r) => r.ratio)).toEqual([0.5, 0.25]);

    calls.length = 0;
    const skipTheirs: Benchmark = { ...paired, skipReason: (t) => (t.side === 'theirs' ? 'not there' : undefined) };
    const results = await runBenchmarks([skipTheirs], target('ours'), target('theirs'), ctx);
    expect(calls).toEqual(['run ours']);
    expect(results[0]!.theirs).toEqual({ skipped: 'not there' });

    const failing: Benchmark = { ...paired, runPaired: async () => Promise.reject(new Error('socket vanished')) };
    expect((await runBenchmarks([failing], target('ours'), target('theirs'), ctx))[0]).toMatchObject({ ours: { error: 'socket vanished' }, theirs: { error: 'socket vanished' } });
  });

  it('prints only our column without --against', async () => {
    const results = await runBenchmarks([fixed], target('ours'), undefined, ctx);
    const table = renderTable(toRows(results), results, { ours: 'ours daemon' });
    expect(table).not.toContain('theirs');
    expect(table).toMatch(/rate\s+100 req\/s/);
  });
});

describe('registry', () => {
  it('selects by name in registry order and names the unknown ones', () => {
    expect(selectBenchmarks([]).map((b) => b.name)).toEqual(BENCHMARKS.map((b) => b.name));
    expect(selectBenchmarks(['memory', 'start']).map((b) => b.name)).toEqual(['start', 'memory']);
    expect(() => selectBenchmarks(['nope'])).toThrow(/unknown benchmark nope; known: start, latency, memory, baseline, run-rm, churn, ps, container-memory, pull, save-load/);
  });
});
