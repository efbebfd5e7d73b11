import type { Benchmark } from './benchmark';
import { containerChurn } from './container-churn';
import { containerList } from './container-list';
import { containerMemory } from './container-memory';
import { containerRun } from './container-run';
import { idleMemory } from './idle-memory';
import { imagePull } from './image-pull';
import { imageSaveLoad } from './image-save-load';
import { nodeBaseline } from './node-baseline';
import { requestLatency } from './request-latency';
import { startTime } from './start-time';

/**
 * Every benchmark, in the order they run. `start` comes first: it needs the other daemon's socket
 * free when it launches it, before a session daemon is started for the later ones. `memory` runs
 * before the container and image benchmarks so that it sees an idle daemon that has run nothing.
 * Add a benchmark by writing a module that exports a `Benchmark` and listing it here.
 */
export const BENCHMARKS: readonly Benchmark[] = [startTime, requestLatency, idleMemory, nodeBaseline, containerRun, containerChurn, containerList, containerMemory, imagePull, imageSaveLoad];

/** The benchmarks named by --only (all when empty), in registry order; unknown names are an error. */
export function selectBenchmarks(only: readonly string[], all: readonly Benchmark[] = BENCHMARKS): Benchmark[] {
  const unknown = only.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${all.map((b) => b.name).join(', ')}`);
  return only.length === 0 ? [...all] : all.filter((b) => only.includes(b.name));
}
