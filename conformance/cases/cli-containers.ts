import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, hasDockerCli, type DaemonUnderTest, type SuiteContext } from '../harness';
import { dockerSession } from '../support/pty';
import { busyboxRootfs, testImage } from '../support/test-image';

/** ctrl-p ctrl-q, Docker's default detach keys. */
const DETACH = '\x10\x11';
/** A container that prints `tick N` every 100 ms. */
const TICKER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done'];
/** PID 1 without a TERM handler: only the stop timeout's SIGKILL ends it. */
const IGNORES_TERM = ['sleep', '100'];
const RFC3339_NANO_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick \d+$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowSeconds = () => (Date.now() / 1000).toFixed(3);

/**
 * The real docker CLI 28 driving containers, on every backend: `run` (exit codes, `-i` with
 * piped stdin, `-t`/`-it` on a pseudo-terminal, `-e`/`--hostname`/`-w`/`--ulimit`, detach),
 * `logs -f`/`--tail`/`--timestamps`, `exec` (`-i`, `-e`, `-w`, `-u`, 126 for a missing command),
 * `attach` and detaching with ctrl-p ctrl-q, `wait`, `stop`, `kill -s`, `rm -f`, `ps` and its
 * filters and formats, `rename`, `pause`/`unpause`, `top`, `events`, and `--restart always`
 * across a daemon restart. Every case names its containers uniquely and removes them.
 */
export function cliContainerCases(ctx: SuiteContext): void {
  describe.runIf(hasDockerCli)('with the real docker CLI', () => cliCases(ctx));
}

function cliCases(ctx: SuiteContext): void {
  let image: string;
  const names = new Set<string>();
  const host = () => ctx.get().host;
  const cli = (args: string[], input?: string) => dockerCli(host(), args, { input });
  /** A unique container name, removed (forced) after the group. */
  const name = (what: string) => {
    const n = `cli-${what}-${randomBytes(3).toString('hex')}`;
    names.add(n);
    return n;
  };
  /** `docker ARGS` that must succeed; resolves with its trimmed stdout. */
  const ok = async (args: string[], input?: string) => {
    const r = await cli(args, input);
    expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };
  const inspect = (n: string, format: string) => ok(['inspect', '-f', format, n]);
  /** Poll `check` until it holds (a case stuck here fails with what it waited for and the last value). */
  const until = async <T>(probe: () => Promise<T>, check: (v: T) => boolean, what: string): Promise<T> => {
    let last: T | undefined;
    for (let i = 0; i < 300; i++) {
      last = await probe();
      if (check(last)) return last;
      await sleep(50);
    }
    throw new Error(`never happened: ${what}; last: ${JSON.stringify(last)}`);
  };
  const runDetached = async (n: string, cmd: string[], flags: string[] = []) => ok(['run', '-d', '--name', n, ...flags, image, ...cmd]);

  beforeAll(async () => {
    image = await testImage(ctx);
  });
  afterAll(async () => {
    if (names.size) await cli(['rm', '-f', ...names]);
  });

  describe('docker run', () => {
    it('--rm prints the output and exits with the command\'s code; the container is gone', async () => {
      const n = name('rm');
      const r = await cli(['run', '--rm', '--name', n, image, 'sh', '-c', 'echo hi; exit 3']);
      expect(r).toMatchObject({ code: 3, stdout: 'hi\n' });
      expect(await ok(['ps', '-a', '-q', '--filter', `name=${n}`])).toBe('');
    });

    it('a command that does not exist: exit 127 with the runtime\'s message, and --rm removes the container', async () => {
      const n = name('nosuch');
      const r = await cli(['run', '--rm', '--name', n, image, 'nosuchcmd']);
      expect(r.code).toBe(127);
      expect(r.stderr).toContain('exec: "nosuchcmd": executable file not found in $PATH');
      expect(await ok(['ps', '-a', '-q', '--filter', `name=${n}`])).toBe('');
      const kept = await cli(['run', '--name', `${n}-kept`, image, 'nosuchcmd']);
      expect(kept.code).toBe(127);
      expect(await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', `${n}-kept`])).toBe('created 127');
    });

    it('-e, --hostname and -w reach the process; --ulimit sets its limit', async () => {
      expect(await ok(['run', '--rm', '-e', 'A=1', '--hostname', 'h1', '-w', '/tmp', image, 'sh', '-c', 'echo $A; hostname; pwd'])).toBe('1\nh1\n/tmp');
      expect(await ok(['run', '--rm', '--ulimit', 'nofile=1234:1234', image, 'sh', '-c', 'ulimit -n; ulimit -Hn'])).toBe('1234\n1234');
    });

    it('-i copies piped stdin to the process and closes it at its end', async () => {
      const r = await cli(['run', '-i', '--rm', image, 'cat'], 'hello\n');
      expect(r).toMatchObject({ code: 0, stdout: 'hello\n' });
      const counted = await cli(['run', '-i', '--rm', image, 'wc', '-l'], 'a\nb\nc\n');
      expect(counted.stdout.trim()).toBe('3');
    });

    it('docker wait of a container that ran to its end prints its exit code', async () => {
      const n = name('wait');
      expect((await cli(['run', '--name', n, image, 'sh', '-c', 'exit 7'])).code).toBe(7);
      expect(await ok(['wait', n])).toBe('7');
      const w = name('waiting');
      await runDetached(w, ['sh', '-c', 'sleep 0.3; exit 4']);
      expect(await ok(['wait', w])).toBe('4');
    });

    it('-it on a terminal: the shell\'s prompt, the echo of what was typed, the answer, exit 0', async () => {
      const s = dockerSession(host(), ['run', '-it', '--rm', image, 'sh'], { pty: true });
      await s.waitFor('/ # ');
      s.write('echo $((6*7)); exit\r');
      expect(await s.exited).toBe(0);
      // Debian's busybox asks the terminal for the cursor position (ESC [6n) after its prompt, and
      // its line editor redraws the line ("\r/ # " + what was typed so far + ESC [J) when the
      // CLI's resize reaches it (SIGWINCH) during the typing, as with dockerd: the last drawing
      // of the line counts.
      const out = s.output();
      const lastLine = out.slice(out.lastIndexOf('/ # ') + 4).replace(/\x1b\[(6n|J)/g, '');
      expect(lastLine, JSON.stringify(out)).toBe('echo $((6*7)); exit\r\n42\r\n');
    });

    it('-t without -i: stdin and stdout are the container\'s terminal, lines end in \\r\\n, the exit code passes through', async () => {
      const s = dockerSession(host(), ['run', '-t', '--rm', image, 'sh', '-c', 'test -t 1 && echo tty; test -t 0 && echo stdin-tty; echo $((6*7)); exit 5'], { pty: true });
      expect(await s.exited).toBe(5);
      // Without -i the CLI leaves the local terminal cooked: its own ONLCR adds a second \r.
      expect(s.output()).toMatch(/^tty\r\r?\nstdin-tty\r\r?\n42\r\r?\n$/);
    });

    it('-it then ctrl-p ctrl-q detaches: the CLI exits 0 and the container keeps running', async () => {
      const n = name('detach');
      const s = dockerSession(host(), ['run', '-it', '--name', n, image, 'sh'], { pty: true });
      await s.waitFor('/ # ');
      s.write(DETACH);
      expect(await s.exited).toBe(0);
      expect(await inspect(n, '{{.State.Status}}')).toBe('running');
    });
  });

  describe('docker logs', () => {
    it('-f follows a running container until stopped; --tail 2 --timestamps prints the last two lines with RFC 3339 nano times', async () => {
      const n = name('logs');
      await runDetached(n, TICKER);
      const follow = dockerSession(host(), ['logs', '-f', n]);
      await follow.waitFor(/^tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n/);
      expect(await follow.kill()).not.toBe(0);
      const lines = (await ok(['logs', '--tail', '2', '--timestamps', n])).split('\n');
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(l).toMatch(RFC3339_NANO_LINE);
      const [a, b] = lines.map((l) => Number(l.split(' ').pop()));
      expect(b).toBe(a! + 1);
      // A follow of a container that stops ends by itself.
      const f2 = dockerSession(host(), ['logs', '-f', '--tail', '1', n]);
      await f2.waitFor('tick');
      await ok(['kill', n]);
      expect(await f2.exited).toBe(0);
    });
  });

  describe('docker exec', () => {
    it('prints the output and exits with the command\'s code; -i, -e, -w and -u', async () => {
      const n = name('exec');
      await runDetached(n, IGNORES_TERM);
      const r = await cli(['exec', n, 'sh', '-c', 'echo out; echo err >&2; exit 4']);
      expect(r).toMatchObject({ code: 4, stdout: 'out\n', stderr: 'err\n' });
      expect(await ok(['exec', '-i', n, 'cat'], 'piped\n')).toBe('piped');
      expect(await ok(['exec', '-e', 'VAR=val', n, 'sh', '-c', 'echo $VAR'])).toBe('val');
      expect(await ok(['exec', '-w', '/tmp', n, 'sh', '-c', 'pwd'])).toBe('/tmp');
      expect(await ok(['exec', '-u', '1000', n, 'id', '-u'])).toBe('1000');
      // The image sets no PATH: Docker's default is there for an exec as for the first process.
      expect(await ok(['exec', n, 'sh', '-c', 'echo $PATH'])).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    });

    it('a missing command exits 126 with the OCI runtime\'s message', async () => {
      const n = name('exec126');
      await runDetached(n, IGNORES_TERM);
      const r = await cli(['exec', n, 'nosuchcmd']);
      expect(r.code).toBe(126);
      expect(r.stdout + r.stderr).toMatch(/OCI runtime exec failed: .*exec: "nosuchcmd": executable file not found in \$PATH/);
    });
  });

  describe('docker attach', () => {
    it('shows a running container\'s output; a TTY container takes input and ctrl-p ctrl-q leaves it running', async () => {
      const n = name('attach');
      await runDetached(n, TICKER);
      const seen = dockerSession(host(), ['attach', '--no-stdin', n]);
      const first = Number(/tick (\d+)/.exec(await seen.waitFor(/tick \d+\n/))![1]);
      await seen.waitFor(new RegExp(`tick ${first + 2}\\n`));
      await seen.kill();
      expect(await inspect(n, '{{.State.Status}}')).toBe('running');

      const t = name('attach-tty');
      await ok(['run', '-dit', '--name', t, image, 'sh']);
      const s = dockerSession(host(), ['attach', t], { pty: true });
      // The CLI resizes the terminal on attach; the shell may redraw its prompt meanwhile.
      await sleep(200);
      s.write('echo at$((1+1))\r');
      await s.waitFor('at2\r\n');
      s.write(DETACH);
      await s.exited;
      expect(await inspect(t, '{{.State.Status}}')).toBe('running');
      // Attached again: the same shell, still answering.
      const again = dockerSession(host(), ['attach', t], { pty: true });
      await sleep(200);
      again.write('echo again$((2+2)); exit 6\r');
      expect(await again.exited).toBe(6);
      expect(again.output()).toContain('again4');
      expect(await inspect(t, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 6');
    });
  });

  describe('docker stop, kill, rm -f', () => {
    it('stop -t 1 of a PID-1 sleep ends in SIGKILL (137); a script trapping TERM exits with its own code', async () => {
      const n = name('stop');
      await runDetached(n, IGNORES_TERM);
      expect(await ok(['stop', '-t', '1', n])).toBe(n);
      expect(await inspect(n, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 137');
      const t = name('stop-trap');
      await runDetached(t, ['sh', '-c', "trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"]);
      expect(await ok(['stop', t])).toBe(t);
      expect(await inspect(t, '{{.State.ExitCode}}')).toBe('0');
      expect(await ok(['logs', t])).toBe('bye');
    });

    it('kill -s USR1 reaches the trap and the container runs on; kill without -s exits 137', async () => {
      const n = name('kill');
      await runDetached(n, ['sh', '-c', "trap 'echo got usr1' USR1; while true; do sleep 0.1; done"]);
      expect(await ok(['kill', '-s', 'USR1', n])).toBe(n);
      await until(() => ok(['logs', n]), (l) => l === 'got usr1', 'the USR1 trap ran');
      expect(await inspect(n, '{{.State.Status}}')).toBe('running');
      expect(await ok(['kill', n])).toBe(n);
      expect(await ok(['wait', n])).toBe('137');
    });

    it('rm refuses a running container; rm -f removes it', async () => {
      const n = name('rmf');
      await runDetached(n, IGNORES_TERM);
      const refused = await cli(['rm', n]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('You cannot remove a running container');
      expect(await ok(['rm', '-f', n])).toBe(n);
      expect(await ok(['ps', '-a', '-q', '--filter', `name=${n}`])).toBe('');
      expect((await cli(['inspect', n])).code).toBe(1);
    });
  });

  describe('docker ps, rename, pause, top', () => {
    it('ps shows running containers, -a also exited ones, -q short IDs; --filter and --format', async () => {
      const label = `cli-ps=${randomBytes(3).toString('hex')}`;
      const up = name('ps-up');
      const down = name('ps-down');
      const upId = await runDetached(up, IGNORES_TERM, ['--label', label]);
      expect((await cli(['run', '--name', down, '--label', label, image, 'sh', '-c', 'exit 2'])).code).toBe(2);
      const filter = ['--filter', `label=${label}`];
      expect(await ok(['ps', ...filter, '--format', '{{.Names}} {{.Status}}'])).toMatch(new RegExp(`^${up} Up .+$`));
      const all = (await ok(['ps', '-a', ...filter, '--format', '{{.Names}} {{.Status}}'])).split('\n').sort();
      expect(all).toHaveLength(2);
      expect(all[0]).toMatch(new RegExp(`^${down} Exited \\(2\\) .+ ago$`));
      expect(all[1]).toMatch(new RegExp(`^${up} Up `));
      expect(await ok(['ps', '-q', ...filter])).toBe(upId.slice(0, 12));
      expect((await ok(['ps', '-a', '-q', ...filter])).split('\n')).toHaveLength(2);
      expect(await ok(['ps', '-a', '--filter', 'status=exited', ...filter, '--format', '{{.Names}}'])).toBe(down);
      expect(await ok(['ps', '-a', '--filter', `name=${up}`, '--format', '{{.Names}} {{.Image}} {{.Command}}'])).toBe(`${up} ${image} "sleep 100"`);
      const table = await ok(['ps', ...filter]);
      expect(table.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    });

    it('rename changes the name everywhere; the old one is gone', async () => {
      const n = name('rename');
      const renamed = name('renamed');
      const id = await runDetached(n, IGNORES_TERM);
      await ok(['rename', n, renamed]);
      expect(await inspect(renamed, '{{.Id}} {{.Name}}')).toBe(`${id} /${renamed}`);
      expect(await ok(['ps', '--filter', `id=${id}`, '--format', '{{.Names}}'])).toBe(renamed);
      expect((await cli(['inspect', n])).stderr).toContain(`No such object: ${n}`);
    });

    it('pause shows (Paused) in ps and freezes output; unpause resumes', async () => {
      const n = name('pause');
      await runDetached(n, TICKER);
      expect(await ok(['pause', n])).toBe(n);
      expect(await ok(['ps', '--filter', `name=${n}`, '--format', '{{.Status}}'])).toMatch(/^Up .+ \(Paused\)$/);
      expect(await inspect(n, '{{.State.Status}} {{.State.Paused}}')).toBe('paused true');
      const frozen = await ok(['logs', n]);
      await sleep(300);
      expect(await ok(['logs', n])).toBe(frozen);
      const refused = await cli(['exec', n, 'true']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/is paused/);
      expect(await ok(['unpause', n])).toBe(n);
      expect(await ok(['ps', '--filter', `name=${n}`, '--format', '{{.Status}}'])).not.toMatch(/Paused/);
      await until(() => ok(['logs', n]), (l) => l.length > frozen.length, 'output after unpause');
    });

    it('top lists the container\'s processes with ps\'s columns', async () => {
      const n = name('top');
      await runDetached(n, IGNORES_TERM);
      const [head, ...rows] = (await ok(['top', n])).split('\n');
      expect(head).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
      expect(rows.some((r) => /^root\s+\d+\s+\d+\s+.*sleep 100$/.test(r))).toBe(true);
    });
  });

  describe('docker events', () => {
    it('--since/--until with --filter container= shows the create, start, die and destroy of one container', async () => {
      const n = name('events');
      const since = nowSeconds();
      expect((await cli(['run', '--name', n, image, 'true'])).code).toBe(0);
      await ok(['rm', n]);
      // One millisecond ahead: an event's timeNano carries sub-millisecond digits past Date.now().
      const until = ((Date.now() + 1) / 1000).toFixed(3);
      const lines = (await ok(['events', '--since', since, '--until', until, '--filter', `container=${n}`, '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'])).split('\n');
      expect(lines.filter((l) => /^container (create|start|die|destroy) /.test(l))).toEqual(['create', 'start', 'die', 'destroy'].map((a) => `container ${a} ${n}`));
      const json = await ok(['events', '--since', since, '--until', until, '--filter', `container=${n}`, '--filter', 'event=die', '--format', '{{json .}}']);
      expect(JSON.parse(json)).toMatchObject({ Type: 'container', Action: 'die', Actor: { Attributes: { name: n, exitCode: '0', image } } });
    });
  });

  describe('docker run --restart always', () => {
    it('is running again after the daemon restarts on the same roots', async () => {
      const d: DaemonUnderTest = await ctx.get().extra([]);
      const r = await d.client.raw('POST', '/images/create?fromSrc=-&repo=cli-restart&tag=latest', { body: await busyboxRootfs(), headers: { 'Content-Type': 'application/x-tar' } });
      expect(r.status).toBe(200);
      const on = (args: string[]) => dockerCli(d.host, args);
      const n = `cli-always-${randomBytes(3).toString('hex')}`;
      const started = await on(['run', '-d', '--restart', 'always', '--name', n, 'cli-restart:latest', ...TICKER]);
      expect(started.code, started.stderr).toBe(0);
      try {
        await d.restart();
        const status = () => on(['ps', '-a', '--filter', `name=${n}`, '--format', '{{.Status}}']).then((x) => x.stdout.trim());
        await until(status, (s) => s.startsWith('Up '), 'the --restart always container up again');
        expect((await on(['inspect', '-f', '{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}', n])).stdout.trim()).toBe('true always');
        const tick = async () => Number(/tick (\d+)\n$/.exec((await on(['logs', '--tail', '1', n])).stdout)?.[1] ?? -1);
        const now = await tick();
        await until(tick, (t) => t > now, 'output after the restart');
      } finally {
        await on(['rm', '-f', n]);
      }
    });
  });
}
