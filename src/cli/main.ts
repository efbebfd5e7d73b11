import { Command, CommanderError } from 'commander';
import { ApiError, ConnectionError, DockerClient } from '../client/client';
import { DAEMON_VERSION, GIT_COMMIT } from '../version';
import { DAEMON_OPTIONS } from '../config/daemon-options';
import { infoCommand, versionCommand } from './commands/system';
import type { BackendChoice } from './daemon-command';
import { CliExit, type CliIo } from './io';

export interface MainDeps {
  io: CliIo;
  /** Loaded only for `docker daemon`, so the client starts without the daemon's code. */
  daemon: () => Promise<{ runDaemon: (args: string[], io: CliIo, backends: BackendChoice) => Promise<number>; backends: BackendChoice }>;
}

/** Global options that take a value, for finding where the command starts. */
/** Options that take a value, client and daemon alike (`docker -g /x -d` is the seed's form too). */
const VALUE_FLAGS = new Set([
  '--config', '-c', '--context',
  ...DAEMON_OPTIONS.filter((o) => o.kind !== 'bool').flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]),
]);

/**
 * Whether the arguments ask for the daemon: `docker daemon ...`, or the seed's `docker -d` /
 * `docker --daemon` among the global options before any command. Global options given before
 * the command (-H, -D, -l, TLS) are the daemon's too, as in Docker 1.8. Returns the daemon's
 * arguments.
 */
export function daemonArgs(argv: string[]): string[] | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-d' || a === '--daemon' || a === 'daemon') return [...argv.slice(0, i), ...argv.slice(i + 1)];
    if (!a.startsWith('-') || a === '--') return undefined;
    if (VALUE_FLAGS.has(a)) i++;
  }
  return undefined;
}

/** The `docker` executable: client commands by default; the daemon with `daemon` or `-d`. */
export async function main(argv: string[], deps: MainDeps): Promise<number> {
  const { io } = deps;
  try {
    const forDaemon = daemonArgs(argv);
    if (forDaemon) {
      const d = await deps.daemon();
      return await d.runDaemon(forDaemon, io, d.backends);
    }
    return await runClient(argv, deps);
  } catch (e) {
    if (e instanceof CliExit) {
      if (e.message) io.stderr.write(`${e.message}\n`);
      return e.code;
    }
    if (e instanceof ApiError) {
      io.stderr.write(`Error response from daemon: ${e.message}\n`);
      return 1;
    }
    if (e instanceof ConnectionError) {
      io.stderr.write(`${e.message}\n`);
      return 1;
    }
    io.stderr.write(`docker: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

async function runClient(argv: string[], deps: MainDeps): Promise<number> {
  const { io } = deps;
  let code = 0;
  const program = new Command('docker')
    .usage('[OPTIONS] COMMAND')
    .description('A self-sufficient runtime for containers')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .option('-H, --host <host>', 'Daemon socket to connect to')
    .option('-D, --debug', 'Enable debug mode')
    .option('-l, --log-level <level>', 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")', 'info')
    .option('--tls', 'Use TLS; implied by --tlsverify')
    .option('--tlsverify', 'Use TLS and verify the remote')
    .option('--tlscacert <path>', 'Trust certs signed only by this CA')
    .option('--tlscert <path>', 'Path to TLS certificate file')
    .option('--tlskey <path>', 'Path to TLS key file')
    .option('-v, --version', 'Print version information and quit');

  const client = () => {
    const o = program.opts<{ host?: string; tls?: boolean; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }>();
    return DockerClient.fromEnv(o, io.env);
  };

  // `daemon` is routed before commander (see daemonArgs); listed here for --help.
  program.command('daemon').description('Run the persistent process that manages containers (also: docker -d)');
  program
    .command('version')
    .description('Show the Docker version information')
    .action(async () => {
      code = await versionCommand(client(), io);
    });
  program
    .command('info')
    .description('Display system-wide information')
    .action(async () => {
      code = await infoCommand(client(), io, Boolean(program.opts().debug));
    });

  program.action(() => {
    if (program.opts().version) {
      io.stdout.write(`Docker version ${DAEMON_VERSION}, build ${GIT_COMMIT}\n`);
      return;
    }
    program.outputHelp();
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      throw new CliExit(`\nSee 'docker --help'.`, 125);
    }
    throw e;
  }
  return code;
}
