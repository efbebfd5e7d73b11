import type { BenchOptions } from './options';
import type { Target } from './targets';

/** One number a benchmark measured on one target. Metrics with the same key are compared across targets. */
export interface Metric {
  /** Stable identifier, e.g. `ping.seq.median`; the JSON results are keyed by it. */
  key: string;
  /** What a reader sees in the table, e.g. `GET /_ping sequential, median`. */
  label: string;
  unit: 'ms' | 'µs' | 'req/s' | 'containers/s' | 'MiB';
  value: number;
  /** Which way is better: the table marks ratios by it. */
  better: 'lower' | 'higher';
  /** How it was measured, when the reader needs to know (e.g. which pids were summed). */
  note?: string;
}

export interface BenchContext {
  readonly options: BenchOptions;
  /** A scratch directory for logs and state, removed after the run. */
  readonly workDir: string;
  /** Progress for the person watching (stderr); not part of the results. */
  progress(message: string): void;
}

/**
 * A named benchmark. The runner calls `run` once per target (ours first, then theirs), or
 * `runPaired` once where the benchmark has it and both targets are measured, and pairs the
 * metrics by key. A new benchmark (container run, pull, save/load ...) is a module in this
 * folder exporting one of these, listed in `registry.ts`.
 */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /** Why this benchmark cannot measure `target` (the row then shows `n/a`), or undefined. */
  skipReason?(target: Target, ctx: BenchContext): string | undefined;
  run(target: Target, ctx: BenchContext): Promise<Metric[]>;
  /**
   * Both daemons at once, samples interleaved (ours, theirs, theirs, ours, ...): a machine whose
   * speed drifts within minutes slows both sides alike. Used instead of two `run`s when both
   * targets are measured and neither is skipped.
   */
  runPaired?(ours: Target, theirs: Target, ctx: BenchContext): Promise<{ ours: Metric[]; theirs: Metric[] }>;
}
