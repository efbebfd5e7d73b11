/** Where CLI commands write; tests pass buffers, the binary passes the process streams. */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

/** An error the CLI prints as `docker: MESSAGE` (or the command's prefix) and exits with `code`. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}
