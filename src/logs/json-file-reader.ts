/**
 * Reading a json-file log back: the rotated files (`<id>-json.log.N` ... `.1`) then the
 * current one, with tail/since/until/stream filters, and following new lines.
 *
 * Following works from the files alone (the writer may be another process, such as a
 * container monitor that outlived a daemon restart): it wakes on a directory watch, on an
 * in-process hint from the writer when there is one, and on a slow poll as a safety net. It
 * survives rotation (the renamed file is read to its end before the new one is opened) and
 * truncation (`max-file=1`). Undecodable lines (a torn write after a crash) are skipped.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { decodeJsonLogLine } from './json-line';
import type { LogEntry, ReadOptions } from './types';

const BLOCK = 64 * 1024;
const POLL_MS = 1000;

/** Hints from an in-process writer: `subscribe` calls back on every write, rotation or close. */
export interface LiveHints {
  subscribe(onChange: () => void): () => void;
  /** True once the writer has closed (the container's output is over). */
  isClosed(): boolean;
}

/** The rotated files of `path` that exist, oldest first, then `path` itself. */
export async function logFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const base = basename(path);
  const names = await readdir(dir).catch(() => [] as string[]);
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => b - a);
  return [...rotated.map((n) => `${path}.${n}`), path];
}

interface OpenFile {
  fh: FileHandle;
  ino: number;
  /** Offset just past the last complete line at the time of the snapshot. */
  end: number;
}

async function openFile(path: string): Promise<OpenFile | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch {
    return undefined;
  }
  const st = await fh.stat();
  return { fh, ino: st.ino, end: await lastNewlineEnd(fh, st.size) };
}

/** Offset just after the last `\n` in the first `size` bytes (0 when there is none). */
async function lastNewlineEnd(fh: FileHandle, size: number): Promise<number> {
  for (let to = size; to > 0; ) {
    const from = Math.max(0, to - BLOCK);
    const buf = Buffer.alloc(to - from);
    await fh.read(buf, 0, buf.length, from);
    const at = buf.lastIndexOf(0x0a);
    if (at >= 0) return from + at + 1;
    to = from;
  }
  return 0;
}

/** The complete lines of [from, to) in order, in batches; the last batch may be empty. */
async function* forwardLines(fh: FileHandle, from: number, to: number): AsyncGenerator<Buffer[]> {
  let rest = Buffer.alloc(0);
  for (let at = from; at < to; ) {
    const buf = Buffer.alloc(Math.min(BLOCK, to - at));
    const { bytesRead } = await fh.read(buf, 0, buf.length, at);
    if (bytesRead === 0) break;
    at += bytesRead;
    const data = rest.length > 0 ? Buffer.concat([rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
      lines.push(data.subarray(start, nl));
      start = nl + 1;
    }
    rest = Buffer.from(data.subarray(start));
    yield lines;
  }
}

/** The last `n` complete lines of [0, end), scanning backwards. */
async function lastLines(fh: FileHandle, end: number, n: number): Promise<Buffer[]> {
  const blocks: Buffer[] = [];
  let newlines = 0;
  let from = end;
  // end is just past a newline: n lines need n+1 newlines (or the start of the file).
  while (from > 0 && newlines <= n) {
    const start = Math.max(0, from - BLOCK);
    const buf = Buffer.alloc(from - start);
    await fh.read(buf, 0, buf.length, start);
    for (const b of buf) if (b === 0x0a) newlines++;
    blocks.unshift(buf);
    from = start;
  }
  const text = Buffer.concat(blocks);
  const lines: Buffer[] = [];
  let stop = text.length;
  for (let i = text.length - 2; i >= -1 && lines.length < n; i--) {
    if (i === -1 || text[i] === 0x0a) {
      if (i === -1 && from > 0) break; // cut inside a line we do not need
      lines.unshift(text.subarray(i + 1, stop - 1));
      stop = i + 1;
    }
  }
  return lines;
}

type Verdict = 'yield' | 'skip' | 'stop';

function judge(entry: LogEntry, opts: ReadOptions): Verdict {
  if (opts.since !== undefined && entry.time < opts.since) return 'skip';
  if (opts.until !== undefined && entry.time > opts.until) return 'stop';
  if (entry.stream === 'stdout' ? opts.stdout === false : opts.stderr === false) return 'skip';
  return 'yield';
}

/** Read the json-file log at `path` (see ReadOptions for the semantics). */
export async function* readJsonFileLog(path: string, opts: ReadOptions = {}, live?: LiveHints): AsyncGenerator<LogEntry> {
  const { signal } = opts;
  const names = await logFiles(path);
  const rotated = (await Promise.all(names.slice(0, -1).map(openFile))).filter((f): f is OpenFile => f !== undefined);
  const current = await openFile(path);
  const files = current ? [...rotated, current] : rotated;
  try {
    // 1. What is there now.
    const tail = opts.tail ?? -1;
    let stopped = false;
    const emit = function* (raw: Buffer[]): Generator<LogEntry, boolean> {
      for (const line of raw) {
        const entry = decodeJsonLogLine(line);
        if (!entry) continue;
        const v = judge(entry, opts);
        if (v === 'stop') return true;
        if (v === 'yield') yield entry;
      }
      return false;
    };
    if (tail > 0) {
      const picked: Buffer[][] = [];
      let need = tail;
      for (const f of [...files].reverse()) {
        if (need <= 0) break;
        const lines = await lastLines(f.fh, f.end, need);
        picked.unshift(lines);
        need -= lines.length;
      }
      stopped = yield* emit(picked.flat());
    } else if (tail < 0) {
      for (const f of files) {
        for await (const batch of forwardLines(f.fh, 0, f.end)) {
          if (signal?.aborted) return;
          if ((stopped = yield* emit(batch))) break;
        }
        if (stopped) break;
      }
    }
    if (stopped || !opts.follow || signal?.aborted) return;
    if (opts.until !== undefined && opts.until < BigInt(Date.now()) * 1_000_000n) return;

    // 2. Follow.
    yield* follow(path, current, opts, live, emit);
  } finally {
    await Promise.all(files.map((f) => f.fh.close().catch(() => undefined)));
  }
}

async function* follow(
  path: string,
  start: OpenFile | undefined,
  opts: ReadOptions,
  live: LiveHints | undefined,
  emit: (raw: Buffer[]) => Generator<LogEntry, boolean>,
): AsyncGenerator<LogEntry> {
  const { signal } = opts;
  const wake = new Wakeup();
  const unsubscribe = live?.subscribe(() => wake.notify());
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, () => wake.notify());
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // the poll still works
  }
  const onAbort = () => wake.notify();
  signal?.addEventListener('abort', onAbort);
  let stopping = false;
  void opts.stopped?.then(
    () => ((stopping = true), wake.notify()),
    () => ((stopping = true), wake.notify()),
  );
  // The snapshot's handle (closed by the caller) until a rotation; then handles of our own.
  let cur: { fh: FileHandle; ino: number } | undefined = start;
  let offset = start?.end ?? 0;
  const closeOwn = async () => {
    if (cur && cur !== start) await cur.fh.close().catch(() => undefined);
  };
  let rest = Buffer.alloc(0);
  const drain = async function* (): AsyncGenerator<LogEntry, boolean> {
    if (!cur) return false;
    for (;;) {
      const buf = Buffer.alloc(BLOCK);
      const { bytesRead } = await cur.fh.read(buf, 0, BLOCK, offset);
      if (bytesRead === 0) return false;
      offset += bytesRead;
      const data = Buffer.concat([rest, buf.subarray(0, bytesRead)]);
      const cut = data.lastIndexOf(0x0a) + 1;
      rest = Buffer.from(data.subarray(cut));
      const lines: Buffer[] = [];
      let s = 0;
      for (let nl = data.indexOf(0x0a); nl >= 0 && nl < cut; nl = data.indexOf(0x0a, s)) {
        lines.push(data.subarray(s, nl));
        s = nl + 1;
      }
      if (yield* emit(lines)) return true;
    }
  };
  try {
    for (;;) {
      if (signal?.aborted) return;
      const lastPass = stopping || (live?.isClosed() ?? false);
      wake.arm();
      if (yield* drain()) return;
      const st = await stat(path).catch(() => undefined);
      if (st && (!cur || st.ino !== cur.ino)) {
        // Rotated (or created): finish the old file, which no longer grows, then go on with
        // the file written after it (a rotated one if several rotations happened meanwhile).
        if (yield* drain()) return;
        const next = cur ? await successor(path, cur.ino) : await openForFollow(path);
        await closeOwn();
        cur = next;
        offset = 0;
        rest = Buffer.alloc(0);
        continue;
      }
      if (st && cur && st.size < offset) {
        offset = 0; // truncated in place (max-file=1)
        rest = Buffer.alloc(0);
        continue;
      }
      if (lastPass) return;
      await wake.wait(POLL_MS);
    }
  } finally {
    unsubscribe?.();
    watcher?.close();
    signal?.removeEventListener('abort', onAbort);
    await closeOwn();
  }
}

/**
 * The file that was written after the one with inode `ino`: the next in the rotation chain,
 * or the oldest one still there when `ino` has been deleted meanwhile (its successors that
 * were deleted too are lost, as with dockerd). Retries when a rotation races the lookup.
 */
async function successor(path: string, ino: number): Promise<{ fh: FileHandle; ino: number } | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const chain = await logFiles(path);
    const inodes = await Promise.all(chain.map((p) => stat(p).then((st) => st.ino, () => undefined)));
    const at = inodes.indexOf(ino);
    const pick = at >= 0 ? at + 1 : inodes.findIndex((i) => i !== undefined);
    if (pick < 0 || pick >= chain.length) return openForFollow(path);
    const next = await openForFollow(chain[pick]!);
    if (next && next.ino === inodes[pick]) return next;
    await next?.fh.close();
  }
  return openForFollow(path);
}

async function openForFollow(path: string): Promise<{ fh: FileHandle; ino: number } | undefined> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return undefined;
  return { fh, ino: (await fh.stat()).ino };
}

/** A level-triggered wake-up: notifications between `arm()` and `wait()` are not lost. */
class Wakeup {
  private dirty = false;
  private resolve: (() => void) | undefined;

  arm() {
    this.dirty = false;
  }

  notify() {
    this.dirty = true;
    this.resolve?.();
  }

  wait(ms: number): Promise<void> {
    if (this.dirty) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.resolve = undefined;
        resolve();
      }
      this.resolve = done;
    });
  }
}
