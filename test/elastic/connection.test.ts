import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkConnection, createClient, ElasticsearchConnectionError } from '../../src/elastic/client.js';
import { run } from '../../src/cli/main.js';

function capture() {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
      stderr: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream,
    },
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}

/** A plain HTTP server that is not Elasticsearch, and one that answers 401 like a secured cluster. */
let plain: Server;
let secured: Server;
const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

beforeAll(async () => {
  plain = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"hello":"I am a web server"}');
  });
  secured = createServer((_req, res) => {
    // What a secured Elasticsearch answers to a request with wrong credentials.
    res.writeHead(401, {
      'content-type': 'application/json',
      'x-elastic-product': 'Elasticsearch',
      'www-authenticate': 'ApiKey',
    });
    res.end(
      '{"error":{"type":"security_exception","reason":"unable to authenticate with provided credentials"},"status":401}',
    );
  });
  await Promise.all(
    [plain, secured].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))),
  );
});
afterAll(() => {
  plain.close();
  secured.close();
});

describe('connection errors are clear and never show secrets', () => {
  it('reports the real server version', async () => {
    const client = createClient({ node: inject('esUrl') });
    const info = await checkConnection(client);
    expect(info.version).toBe(inject('esVersion'));
    expect(info.major).toBeGreaterThanOrEqual(8);
    await client.close();
  });

  it('unreachable cluster', async () => {
    const client = createClient({ node: 'http://user:hunter2secret@127.0.0.1:1', maxRetries: 0 });
    const error = await checkConnection(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ElasticsearchConnectionError);
    expect(String((error as Error).message)).toMatch(/Cannot reach Elasticsearch at http:\/\/127\.0\.0\.1:1/);
    expect(String((error as Error).message)).not.toContain('hunter2secret');
  });

  it('a server that is not Elasticsearch', async () => {
    const client = createClient({ node: url(plain), maxRetries: 0 });
    await expect(checkConnection(client)).rejects.toThrow(/is not Elasticsearch/);
  });

  it('bad credentials', async () => {
    const client = createClient({
      node: url(secured),
      apiKey: 'c2VjcmV0LWFwaS1rZXktdmFsdWU=',
      maxRetries: 0,
    });
    const error = (await checkConnection(client).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/rejected the credentials \(401[):]/);
    expect(error.message).not.toContain('c2VjcmV0LWFwaS1rZXktdmFsdWU=');
  });

  it('a missing CA certificate file', () => {
    expect(() => createClient({ node: 'https://127.0.0.1:9200', caCert: '/nonexistent/ca.pem' })).toThrow(
      /^ES_CA_CERT: file not found: \/nonexistent\/ca\.pem \(or elasticsearch\.caCert in the configuration file\)$/,
    );
  });

  it('mlmon setup prints the clear message, not a stack, and no password', async () => {
    const saved = process.env.ES_URL;
    process.env.ES_URL = 'http://admin:topsecretpw@127.0.0.1:1';
    try {
      const c = capture();
      const code = await run(['setup'], c.io);
      expect(code).toBe(1);
      expect(c.err).toMatch(/Cannot reach Elasticsearch/);
      expect(c.err).not.toContain('topsecretpw');
      expect(c.err).not.toMatch(/\n\s+at /);
    } finally {
      process.env.ES_URL = saved;
    }
  });

  it('mlmon setup --dry-run against the real cluster prints a plan and changes nothing', async () => {
    const c = capture();
    expect(await run(['setup', '--format', 'json'], c.io)).toBe(0);
    const dry = capture();
    expect(await run(['setup', '--dry-run', '--format', 'json'], dry.io)).toBe(0);
    const plan = JSON.parse(dry.out) as {
      dryRun: boolean;
      changed: boolean;
      steps: Array<{ action: string }>;
    };
    expect(plan.dryRun).toBe(true);
    expect(plan.changed).toBe(false);
    // One step per template file shipped: index-templates/component/*.json and index/*.json (9 + 11
    // at the time of writing, with mlmon-process@mappings and mlmon-process).
    const shipped = ['component', 'index'].flatMap((d) =>
      readdirSync(fileURLToPath(new URL(`../../index-templates/${d}`, import.meta.url))).filter((f) =>
        f.endsWith('.json'),
      ),
    );
    expect(shipped.length).toBe(23);
    expect(plan.steps.length).toBe(shipped.length);
    const table = capture();
    expect(await run(['setup'], table.io)).toBe(0);
    expect(table.out).toMatch(/nothing to do: every template is up to date/);
  });
});
