import { inject } from 'vitest';
import { Client } from '@elastic/elasticsearch';

/** A client for the real Elasticsearch the global setup provides. */
export function testClient(): Client {
  return new Client({ node: inject('esUrl'), requestTimeout: 60_000 });
}

/** A namespace no other test file uses, so files can run in parallel on one cluster. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.toLowerCase();
}
