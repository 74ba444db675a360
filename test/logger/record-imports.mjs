/**
 * Module customization hooks for light-import.test.ts: records the URL of every module resolved in
 * the process (one a line) to the file named by MLMON_IMPORT_LOG. Registered after tsx, so it runs
 * first and sees the URL tsx resolves a `.js` import to.
 */
import { appendFileSync } from 'node:fs';

const log = process.env.MLMON_IMPORT_LOG;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (log) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}
