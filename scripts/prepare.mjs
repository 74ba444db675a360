/**
 * npm's `prepare` for mlmon. npm runs it in two situations that need opposite answers:
 *
 * - in this repository's own `npm install` / `npm ci` (INIT_CWD, the folder npm was started in, is
 *   this one): nothing to do. bin/mlmon.js runs src/ through tsx in a clone, so a build here would
 *   only make every install, CI run and worktree pay a full tsc run for a dist/ that goes stale at
 *   the next edit; CI builds in a step of its own, `npm pack` through `prepack`.
 * - when another project installs mlmon from a path or a git URL (INIT_CWD is that project): the
 *   user imports `mlmon` and runs `mlmon`, which need dist/, so build it here. (For a git URL npm
 *   installs the development dependencies, typescript among them, before running this; `npm pack` and
 *   `npm publish` build through `prepack`.)
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const startedIn = process.env.INIT_CWD;
if (startedIn !== undefined && resolve(startedIn) === resolve(root)) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write(
    `mlmon: cannot build dist/: typescript is not installed in ${root} (run npm install there)\n`,
  );
  process.exit(1);
}
execFileSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
  cwd: root,
});
