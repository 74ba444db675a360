import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { Client, type ClientOptions } from '@elastic/elasticsearch';

/** The auth and TLS options for the real Elasticsearch the global setup provides (none without security). */
export function testConnection(): Pick<ClientOptions, 'auth' | 'tls'> {
  const access = inject('esAccess');
  if (!access) return {};
  const options: Pick<ClientOptions, 'auth' | 'tls'> = {};
  if (access.apiKey) options.auth = { apiKey: access.apiKey };
  else if (access.username) options.auth = { username: access.username, password: access.password ?? '' };
  if (access.caCert) options.tls = { ca: readFileSync(access.caCert, 'utf8') };
  return options;
}

/** A client for the real Elasticsearch the global setup provides (its administrator on a secured one). */
export function testClient(): Client {
  return new Client({ node: inject('esUrl'), requestTimeout: 60_000, ...testConnection() });
}

/** A namespace no other test file uses, so files can run in parallel on one cluster. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.toLowerCase();
}
