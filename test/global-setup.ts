/**
 * Vitest global setup: every test run talks to a real Elasticsearch.
 * `ES_URL` when set; else one left running by `npm run es:start`; else a fresh local instance of the
 * pinned integ-test distribution (ES_VERSION selects another), stopped again at the end.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { ensureElasticsearch, type RunningCluster } from '../src/elastic/local-cluster.js';

let cluster: RunningCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  cluster = await ensureElasticsearch();
  process.env.ES_URL = cluster.url;
  project.provide('esUrl', cluster.url);
  project.provide('esVersion', cluster.version);
  process.stdout.write(`\n[mlmon tests] real Elasticsearch ${cluster.version} at ${cluster.url}\n\n`);
}

export async function teardown(): Promise<void> {
  if (cluster?.started) await cluster.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    esUrl: string;
    esVersion: string;
  }
}
