import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitCommand, startProcess } from './processes';

describe('splitCommand', () => {
  it('splits on whitespace and honours quotes and backslashes', () => {
    expect(splitCommand(`dockerd --data-root /tmp/a\\ b -H 'unix:///tmp/x y.sock' --label "k=\\"v\\"" ''`)).toEqual([
      'dockerd',
      '--data-root',
      '/tmp/a b',
      '-H',
      'unix:///tmp/x y.sock',
      '--label',
      'k="v"',
      '',
    ]);
    expect(splitCommand('   ')).toEqual([]);
  });

  it('refuses unterminated quotes', () => {
    expect(() => splitCommand(`a 'b`)).toThrow(/unterminated '/);
    expect(() => splitCommand(`a "b`)).toThrow(/unterminated "/);
  });
});

describe('startProcess', () => {
  it('records the exit and keeps the output for error messages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-proc-'));
    try {
      const p = startProcess([process.execPath, '-e', "console.error('boom'); process.exit(3)"], join(dir, 'log'));
      expect(await p.exited).toMatch(/exited with code 3/);
      expect(p.exitedAt()! >= p.spawnedAt).toBe(true);
      expect(p.logTail()).toContain('boom');
      await p.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing executable as an exit reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-proc-'));
    try {
      expect(() => startProcess(['/nonexistent/daemon'], join(dir, 'log'))).toThrow(/could not start/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
