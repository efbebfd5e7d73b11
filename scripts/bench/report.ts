import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchmarkResult, Outcome, Row } from './runner';

function formatValue(v: number | undefined, unit: Row['unit']): string {
  if (v === undefined) return '—';
  const digits = unit === 'µs' || unit === 'req/s' ? 0 : v < 10 ? 2 : 1;
  return `${v.toFixed(digits)} ${unit}`;
}

/** `0.42× ours better` / `1.30× theirs better`, judged by the metric's direction. */
export function formatRatio(row: Row): string {
  if (row.ratio === undefined) return '—';
  const oursBetter = row.better === 'lower' ? row.ratio < 1 : row.ratio > 1;
  const same = Math.abs(row.ratio - 1) < 0.005;
  return `${row.ratio.toFixed(2)}×${same ? '' : oursBetter ? '  ours better' : '  theirs better'}`;
}

function outcomeProblem(side: string, name: string, o: Outcome | undefined): string | undefined {
  if (!o) return undefined;
  if ('error' in o) return `${name} (${side}) failed: ${o.error}`;
  if ('skipped' in o) return `${name} (${side}) not run: ${o.skipped}`;
  return undefined;
}

/** A plain-text table (metric, ours, theirs, ratio) followed by notes, skips and failures. */
export function renderTable(rows: readonly Row[], results: readonly BenchmarkResult[], sides: { ours: string; theirs?: string }): string {
  const compare = sides.theirs !== undefined;
  const header = compare ? ['metric', 'ours', 'theirs', 'ours/theirs'] : ['metric', 'ours'];
  const body = rows.map((r) => (compare ? [r.label, formatValue(r.ours, r.unit), formatValue(r.theirs, r.unit), formatRatio(r)] : [r.label, formatValue(r.ours, r.unit)]));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [`ours:   ${sides.ours}`];
  if (compare) out.push(`theirs: ${sides.theirs}`);
  out.push('', line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), '');
  for (const r of rows) for (const n of r.notes) out.push(`${r.label}: ${n}`);
  for (const r of results) {
    for (const p of [outcomeProblem('ours', r.name, r.ours), outcomeProblem('theirs', r.name, r.theirs)]) if (p) out.push(p);
  }
  return out.join('\n') + '\n';
}

/** Write the full results as `<dir>/results-<timestamp>.json` and return its path. */
export async function writeResults(dir: string, data: Record<string, unknown>, now = new Date()): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `results-${now.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(path, JSON.stringify(data, null, 2) + '\n');
  return path;
}
