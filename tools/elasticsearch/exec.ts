/**
 * Child-process helpers of the local Elasticsearch tooling, shared by the process management
 * (local-cluster.ts) and the secured node's set-up (secured.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Runs a command to completion; throws with the end of its output when it fails. */
export function run(command: string, args: string[], what: string): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error) throw new Error(`${what}: could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${what} failed (exit ${result.status}):\n${output}`);
  }
}

export /** Reads `JAVA_VERSION="25.0.1"` from a JDK's `release` file. */
function jdkMajor(home: string): number | undefined {
  try {
    const release = readFileSync(join(home, 'release'), 'utf8');
    const match = /JAVA_VERSION="(\d+)/.exec(release);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
