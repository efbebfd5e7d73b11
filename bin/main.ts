// The composition root: the only place that knows both src/ and the backends.
import { main } from '../src/cli/main';

// A reader of our output that has gone away (`docker version | head -1`) ends the process quietly
// with 128 + SIGPIPE, as the Go docker CLI is ended by SIGPIPE (Node ignores that signal and
// reports EPIPE on the stream instead).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(141);
  throw e;
});

const code = await main(process.argv.slice(2), {
  io: { stdout: process.stdout, stderr: process.stderr, env: process.env },
  daemon: async () => {
    const { runDaemon } = await import('../src/cli/daemon-command');
    return {
      runDaemon,
      backends: {
        linux: async () => (await import('../backends/linux')).createLinuxKernel,
        fake: async () => (await import('../fakes')).createFakeKernel,
        linuxUnavailable: async (runtime: string) => (await import('../backends/linux')).linuxUnavailableReason(runtime),
      },
    };
  },
});
process.exitCode = code;
