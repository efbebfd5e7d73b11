// `npm run bench`: measure our daemon, and another one side by side with --against. See scripts/README.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './bench/benchmark';
import { parseBenchArgs, USAGE, UsageError, type BenchOptions } from './bench/options';
import { BENCHMARKS, selectBenchmarks } from './bench/registry';
import { renderTable, writeResults } from './bench/report';
import { runBenchmarks, toRows } from './bench/runner';
import { oursTarget, theirsTarget, type Target } from './bench/targets';

async function bench(options: BenchOptions): Promise<number> {
  const benchmarks = selectBenchmarks(options.only);
  const loadBefore = loadavg()[0]!;
  const workDir = mkdtempSync(join(tmpdir(), 'tsdocker-bench-'));
  const ctx: BenchContext = { options, workDir, progress: (m) => process.stderr.write(`[bench] ${m}\n`) };
  const tuning = { timeoutMs: options.startTimeoutMs, pollMs: options.pollMs };
  const ours = oursTarget({ ...tuning, node: options.node, nodeArgs: options.nodeArgs, daemonArgs: options.daemonArgs, bundle: options.bundle, backend: options.backend, workDir });
  const theirs: Target | undefined = options.against && theirsTarget({ ...tuning, endpoint: options.against, pids: options.againstPids, startArgv: options.againstStart, workDir });

  const cleanUp = async () => {
    await ours.close();
    await theirs?.close();
    rmSync(workDir, { recursive: true, force: true });
  };
  // Ctrl-C must not leave daemons or temp folders behind: clean up, then exit.
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let results;
  try {
    results = await runBenchmarks(benchmarks, ours, theirs, ctx);
  } finally {
    await cleanUp();
  }

  const rows = toRows(results);
  const loadAfter = loadavg()[0]!;
  process.stdout.write('\n' + renderTable(rows, results, { ours: ours.description, theirs: theirs?.description }));
  // Other work on the machine skews times: say so rather than let the numbers pass as clean.
  if (Math.max(loadBefore, loadAfter) > cpus().length) {
    process.stdout.write(`\nwarning: the machine was busy (load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cpus().length} CPUs): times are inflated\n`);
  }
  // Node reads these at every start (NODE_EXTRA_CA_CERTS parses a certificate bundle: tens of ms).
  const startEnv = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'].filter((k) => process.env[k]);
  if (startEnv.length > 0) {
    process.stdout.write(`\nnote: ${startEnv.join(' and ')} set: every node start pays for it; \`env -u ${startEnv.join(' -u ')} npm run bench\` measures without\n`);
  }
  const file = await writeResults(options.outDir, {
    date: new Date().toISOString(),
    machine: { node: process.version, kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model, loadBefore, loadAfter, nodeEnv: startEnv },
    options: { ...options, against: theirs?.description },
    ours: ours.description,
    theirs: theirs?.description,
    rows,
    results,
  });
  process.stdout.write(`\nresults: ${file}\n`);
  const failed = results.some((r) => 'error' in r.ours || (r.theirs !== undefined && 'error' in r.theirs));
  return failed ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv, process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options.list) {
    for (const b of BENCHMARKS) process.stdout.write(`${b.name.padEnd(17)} ${b.description}\n`);
    return 0;
  }
  try {
    return await bench(options);
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
