// Bundle the CLI (client + daemon, split so the client loads little) into dist/.
import { build } from 'esbuild';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ifStale = process.argv.includes('--if-stale');
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
if (ifStale) {
  try {
    const built = statSync('dist/docker.mjs').mtimeMs;
    if (['src', 'backends', 'fakes', 'bin', 'scripts'].every((d) => newest(d) < built)) process.exit(0);
  } catch {
    /* not built yet */
  }
}

import { rmSync } from 'node:fs';
// Old chunks would pile up: start from an empty dist/chunks.
rmSync('dist/chunks', { recursive: true, force: true });

await build({
  entryPoints: { docker: 'bin/main.ts', bench: 'scripts/bench.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled CommonJS packages call require(); give ESM output one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
