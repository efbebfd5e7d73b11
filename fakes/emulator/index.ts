/** The process emulator of the fake backend: see README.md. */
export { createEmulator, StartError, type Emulator, type EmulatorOptions, type SpawnOptions, type SpawnedProcess } from './emulator';
export { RealClock, VirtualClock, type Clock } from './clock';
export type { EmulatorHooks, HealthStatus, Listener, Applet } from './context';
export type { EmulatedProcess, ExitResult } from './process';
export { ProcessTable, NoSuchProcessError, type ProcessInfo } from './process-table';
export { resolveCommand, runtimeErrorMessage, shellErrorMessage, APPLET_MARKER, SCRIPT_APPLET, type Resolution, type ResolutionErrorKind } from './resolve';
export { resolveUser, UnknownUserError, type Identity } from './users';
export { signalNumber, signalName, SIGNALS } from './signals';
export { BEHAVIOUR_PATH, parseBehaviour, type Behaviour, type Step } from './applets/script';
