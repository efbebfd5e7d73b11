import type { ContainerFsBackend } from '../api/routes/container-fs';
import { commitContainer, type CommitDeps } from './commit';
import { ContainerFs } from './container-fs';

/** The container filesystem routes' backend: `docker cp`, `docker export`, `docker commit`. */
export function containerFsBackend(deps: CommitDeps & { tmpDir: string }): ContainerFsBackend {
  const fs = new ContainerFs(deps);
  return {
    statPath: (id, path) => fs.stat(id, path),
    archivePath: (id, path) => fs.archive(id, path),
    extractToDir: (id, path, tar, opts) => fs.extract(id, path, tar, opts),
    export: (id) => fs.export(id),
    commit: async (params) => ({ Id: await commitContainer(deps, params) }),
  };
}
