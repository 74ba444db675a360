#!/usr/bin/env node
/**
 * The `mlmon` executable (package.json "bin"). In a clone (src/ present, tsx installed as a dev
 * dependency) it runs the TypeScript source through tsx, so `npx mlmon` works right after
 * `npm install` and always runs the code as it is now, never a stale dist/. In the published
 * package (dist/ only: "files" in package.json) it runs the build.
 *
 * dist/ is built by `prepack` (npm pack, npm publish) and by `prepare` when another project installs
 * mlmon from a path or a git URL (scripts/prepare.mjs); the repository's own `npm install` skips
 * it: here src/ runs through tsx, never a stale dist/.
 */
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const build = new URL('../dist/cli/main.js', import.meta.url);

async function load() {
  if (existsSync(source)) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return await import(source.href);
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(build)) throw error;
    }
  }
  if (!existsSync(build)) {
    process.stderr.write('mlmon: neither src/ with tsx (npm install) nor dist/ (npm run build) found\n');
    process.exit(1);
  }
  return import(build.href);
}

const { main } = await load();
main();
