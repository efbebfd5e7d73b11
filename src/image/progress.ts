/** Docker's JSON-lines progress messages (pull, push, load, import). */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { message: string };
}

export type ProgressSink = (m: ProgressMessage) => void;

function human(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}

/** The progress bar text Docker puts beside progressDetail. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return human(current);
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
  return `${bar} ${human(current)}/${human(total)}`;
}

/** Throttled progress updates for one item (at most every `everyMs`), with the final value always sent. */
export function progressReporter(sink: ProgressSink, id: string, status: string, total: number, everyMs = 100): (current: number, final?: boolean) => void {
  let last = 0;
  return (current, final = false) => {
    const now = Date.now();
    if (!final && now - last < everyMs) return;
    last = now;
    sink({ status, progressDetail: { current, total }, progress: progressBar(current, total), id });
  };
}
