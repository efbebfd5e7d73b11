import type { RequestHandler } from 'msw';
import { RegistryAuth, type RegistryAuthOptions } from './auth';
import { RegistryFaults, type FaultRule } from './faults';
import { createRegistryHandlers, createRegistryResponder } from './handlers';
import { seedBuiltinImages } from './images';
import { RegistryStore } from './store';

export { RegistryStore } from './store';
export { RegistryFaults, type Fault, type FaultRule, type InjectedFault } from './faults';
export type { RegistryAuthOptions } from './auth';
export { seedBuiltinImages, builtinImages, BUILTIN_PLATFORMS } from './images';
export { MediaType } from './media-types';
export { startRegistryServer, type RegistryServer, type RegistryServerOptions } from './server';

export interface EmulatedRegistryOptions {
  /** Seed the built-in images (busybox, alpine, hello-world). Default true. */
  builtin?: boolean;
  /** Authentication; omitted: every request is allowed. */
  auth?: RegistryAuthOptions;
  /** Faults active from the start (more can be injected through `faults`). */
  faults?: FaultRule[];
  /** Share an existing store (e.g. between two registries); default a fresh one. */
  store?: RegistryStore;
}

/** An emulated Docker registry answering Fetch requests in-process. */
export interface EmulatedRegistry {
  store: RegistryStore;
  /** The msw handlers (without faults), e.g. for a test's own msw setup. */
  handlers: RequestHandler[];
  /** Answers one request, faults applied. Any origin works: URLs in answers use the request's. */
  fetch(request: Request): Promise<Response>;
  faults: RegistryFaults;
}

/** Builds an emulated registry. No global state is touched (no request interception). */
export async function createEmulatedRegistry(options: EmulatedRegistryOptions = {}): Promise<EmulatedRegistry> {
  const store = options.store ?? new RegistryStore();
  if (options.builtin ?? true) await seedBuiltinImages(store);
  const auth = new RegistryAuth(store, options.auth);
  const handlers = createRegistryHandlers({ store, auth });
  const faults = new RegistryFaults((request) => auth.challenge(request));
  for (const rule of options.faults ?? []) faults.inject(rule);
  const answer = faults.wrap(createRegistryResponder(handlers));
  return { store, handlers, fetch: answer, faults };
}
