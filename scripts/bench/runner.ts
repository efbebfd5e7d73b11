import type { Benchmark, BenchContext, Metric } from './benchmark';
import type { Target } from './targets';

/** What one benchmark gave on one target: its metrics, why it did not apply, or why it failed. */
export type Outcome = { metrics: Metric[] } | { skipped: string } | { error: string };

export interface BenchmarkResult {
  name: string;
  description: string;
  ours: Outcome;
  theirs?: Outcome;
}

/** One line of the comparison: a metric on both sides and ours/theirs. */
export interface Row {
  benchmark: string;
  key: string;
  label: string;
  unit: Metric['unit'];
  better: Metric['better'];
  ours?: number;
  theirs?: number;
  /** ours / theirs; below 1 is better for `lower` metrics, above 1 for `higher` ones. */
  ratio?: number;
  notes: string[];
}

async function runOne(b: Benchmark, t: Target, ctx: BenchContext): Promise<Outcome> {
  const skipped = b.skipReason?.(t, ctx);
  if (skipped) return { skipped };
  ctx.progress(`${b.name}: ${t.side} (${t.description})`);
  try {
    return { metrics: await b.run(t, ctx) };
  } catch (e) {
    const error = (e as Error).message;
    ctx.progress(`${b.name}: ${t.side} failed: ${error}`);
    return { error };
  }
}

/**
 * Run each benchmark on ours, then on theirs when given. A failure is recorded in the results and
 * does not stop the other benchmarks.
 */
export async function runBenchmarks(benchmarks: readonly Benchmark[], ours: Target, theirs: Target | undefined, ctx: BenchContext): Promise<BenchmarkResult[]> {
  const results: BenchmarkResult[] = [];
  for (const b of benchmarks) {
    if (theirs && b.runPaired && !b.skipReason?.(ours, ctx) && !b.skipReason?.(theirs, ctx)) {
      results.push({ name: b.name, description: b.description, ...(await runPaired(b, b.runPaired.bind(b), ours, theirs, ctx)) });
      continue;
    }
    const r: BenchmarkResult = { name: b.name, description: b.description, ours: await runOne(b, ours, ctx) };
    if (theirs) r.theirs = await runOne(b, theirs, ctx);
    results.push(r);
  }
  return results;
}

async function runPaired(b: Benchmark, paired: NonNullable<Benchmark['runPaired']>, ours: Target, theirs: Target, ctx: BenchContext): Promise<{ ours: Outcome; theirs: Outcome }> {
  ctx.progress(`${b.name}: ours (${ours.description}) and theirs (${theirs.description}), interleaved`);
  try {
    const m = await paired(ours, theirs, ctx);
    return { ours: { metrics: m.ours }, theirs: { metrics: m.theirs } };
  } catch (e) {
    const error = (e as Error).message;
    ctx.progress(`${b.name}: failed: ${error}`);
    return { ours: { error }, theirs: { error } };
  }
}

/** Pair the metrics of both sides by key, in the order the benchmarks reported them. */
export function toRows(results: readonly BenchmarkResult[]): Row[] {
  const rows: Row[] = [];
  for (const r of results) {
    const byKey = new Map<string, Row>();
    const add = (side: 'ours' | 'theirs', o: Outcome | undefined) => {
      if (!o || !('metrics' in o)) return;
      for (const m of o.metrics) {
        let row = byKey.get(m.key);
        if (!row) {
          row = { benchmark: r.name, key: m.key, label: m.label, unit: m.unit, better: m.better, notes: [] };
          byKey.set(m.key, row);
          rows.push(row);
        }
        row[side] = m.value;
        if (m.note) row.notes.push(`${side}: ${m.note}`);
      }
    };
    add('ours', r.ours);
    add('theirs', r.theirs);
    for (const row of byKey.values()) {
      if (row.ours !== undefined && row.theirs !== undefined && row.theirs !== 0) row.ratio = row.ours / row.theirs;
    }
  }
  return rows;
}
