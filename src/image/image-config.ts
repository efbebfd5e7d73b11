import type { Digest } from './digest';

/** Docker's image config JSON (image spec v1.3), the fields the daemon reads. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  container?: string;
  container_config?: ContainerConfigJson;
  docker_version?: string;
  config?: ContainerConfigJson;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
  parent?: string;
  [extra: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The container config embedded in an image (Docker's capitalised keys). */
export interface ContainerConfigJson {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[];
}

/** Validate the parts of a config the store depends on; throws a message naming the field. */
export function checkImageConfig(c: unknown): asserts c is ImageConfig {
  const o = c as ImageConfig;
  if (!o || typeof o !== 'object') throw new Error('image config is not a JSON object');
  if (!o.rootfs || o.rootfs.type !== 'layers' || !Array.isArray(o.rootfs.diff_ids)) throw new Error('image config has no rootfs.diff_ids');
  for (const d of o.rootfs.diff_ids) if (!/^sha256:[a-f0-9]{64}$/.test(d)) throw new Error(`image config has an invalid diff_id ${d}`);
}
