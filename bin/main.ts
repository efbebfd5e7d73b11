// The composition root: the only place that knows both src/ and the backends.
import { main } from '../src/cli/main';

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
