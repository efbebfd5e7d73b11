/** Non-local control flow in the interpreter, thrown and caught like the shell's own jumps. */

export class BreakSignal {
  constructor(readonly levels: number) {}
}

export class ContinueSignal {
  constructor(readonly levels: number) {}
}

export class ReturnSignal {
  constructor(readonly status: number) {}
}

/** `exit`, a fatal error, or `set -e`: ends the shell (or the subshell) with `status`. */
export class ExitSignal {
  constructor(readonly status: number) {}
}
