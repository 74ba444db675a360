/**
 * Vitest global setup: every test run talks to a real Elasticsearch.
 * `ES_URL` when set (with `ES_CA_CERT` and `ES_API_KEY` or `ES_USERNAME`/`ES_PASSWORD` for a secured
 * one); else one left running by `npm run es:start`; else a fresh local instance of the pinned
 * integ-test distribution (ES_VERSION selects another), stopped again at the end.
 * `MLMON_ES_SECURITY=1` (`npm run test:security`): the instance is a secured one (TLS, file-realm
 * users holding the shipped roles), as `npm run es:start -- --security` starts.
 */
import { readFileSync } from 'node:fs';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import {
  ensureElasticsearch,
  type ClusterAccess,
  type RunningCluster,
} from '../tools/elasticsearch/local-cluster.js';

let cluster: RunningCluster | undefined;

/** How the tests connect: the cluster's own access, else ES_* variables (and MLMON_ES_ACCESS's role users). */
function testAccess(running: RunningCluster): TestAccess | null {
  if (running.access) return running.access;
  const { ES_CA_CERT, ES_API_KEY, ES_USERNAME, ES_PASSWORD, MLMON_ES_ACCESS } = process.env;
  if (!ES_CA_CERT && !ES_API_KEY && !ES_USERNAME) return null;
  // MLMON_ES_ACCESS: the access.json of a secured es:start instance (its role users' passwords).
  const roleUsers = MLMON_ES_ACCESS
    ? (JSON.parse(readFileSync(MLMON_ES_ACCESS, 'utf8')) as ClusterAccess).roleUsers
    : {};
  return { caCert: ES_CA_CERT, apiKey: ES_API_KEY, username: ES_USERNAME, password: ES_PASSWORD, roleUsers };
}

export async function setup(project: TestProject): Promise<void> {
  cluster = await ensureElasticsearch({ security: process.env.MLMON_ES_SECURITY === '1' });
  process.env.ES_URL = cluster.url;
  const access = testAccess(cluster);
  project.provide('esUrl', cluster.url);
  project.provide('esVersion', cluster.version);
  project.provide('esAccess', access);
  process.stdout.write(
    `\n[mlmon tests] real Elasticsearch ${cluster.version} at ${cluster.url}${access ? ' (secured)' : ''}\n\n`,
  );
}

export async function teardown(): Promise<void> {
  if (cluster?.started) await cluster.stop();
}

/** What a test needs to connect to a secured cluster (every field optional: an external one may give any). */
export interface TestAccess {
  caCert?: string;
  apiKey?: string;
  username?: string;
  password?: string;
  /** Passwords of the users holding the shipped roles, by role name (a local secured node has them). */
  roleUsers: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    esUrl: string;
    esVersion: string;
    /** null: a cluster without security. */
    esAccess: TestAccess | null;
  }
}
