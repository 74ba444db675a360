/**
 * The baseline of bench/compare.bench.ts: `mlmon compare` as it read files before issue 21 — each
 * file whole into string cells (`readTable`), then the same comparison. Prints the result as JSON;
 * exit 1 with the message on stderr on an input error.
 * Usage: tsx bench/compare-whole.ts <reference> <current>
 */
import { compareTables, tableSource } from '../src/cli/commands/compare.js';
import { readTable } from '../src/profiles/from-file.js';

const [refPath, curPath] = process.argv.slice(2) as [string, string];
try {
  const [ref, cur] = await Promise.all([readTable(refPath), readTable(curPath)]);
  process.stdout.write(`${JSON.stringify(compareTables(tableSource(ref), tableSource(cur)), null, 2)}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
