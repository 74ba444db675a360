/**
 * Builds @mlmon/logger from the repository's own sources, so the logger has one home (src/logger
 * and the schema and elastic modules it imports): tsc compiles the two entry points and what they
 * import, nothing else, into dist/ with src/'s layout (dist/logger, dist/schema, dist/elastic,
 * dist/bridge), and the index templates the logger installs are copied next to dist/ where
 * src/elastic/templates.ts looks for them (../../index-templates from dist/elastic).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// typescript is a development dependency of the repository root, found from here by Node's lookup
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(`${here}dist`, { recursive: true, force: true });
rmSync(`${here}index-templates`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${here}tsconfig.json`], { stdio: 'inherit' });
cpSync(`${here}../../index-templates`, `${here}index-templates`, { recursive: true });
