/**
 * What a person reads when connecting to a secured cluster goes wrong (src/elastic/client.ts), on
 * the secured node: each case made for real (a plain-HTTP URL to its TLS port, a key that expired, a
 * CA that did not sign the node's certificate, a raw `id:api_key`, a CA file that is not there).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConnection, createClient } from '../../src/elastic/client.js';
import { testClient, testConnection } from '../helpers/es.js';

const ROOT = resolve(import.meta.dirname, '../..');
const admin = testClient();
const origin = () => (admin.connectionPool.connections[0] as { url: URL }).url.origin;
let work: string;
let caFile: string;
let otherCa: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mlmon-security-msg-'));
  caFile = join(work, 'ca.pem');
  writeFileSync(caFile, testConnection().tls?.ca as string);
  // A CA of its own, which signed nothing the node presents.
  otherCa = join(work, 'other-ca.pem');
  const made = spawnSync('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=another CA'],
    ...['-keyout', join(work, 'other-ca.key'), '-out', otherCa],
  ]);
  expect(made.status, made.stderr.toString()).toBe(0);
});

afterAll(async () => {
  await admin.close();
  rmSync(work, { recursive: true, force: true });
});

/** The message checkConnection fails with. */
async function failure(options: Parameters<typeof createClient>[0]): Promise<string> {
  let client: ReturnType<typeof createClient> | undefined;
  try {
    client = createClient({ maxRetries: 0, requestTimeout: 20_000, ...options });
    await checkConnection(client);
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client?.close();
  }
  throw new Error('connected');
}

describe('connection messages on a secured node', () => {
  it('http:// to the TLS port: says the server speaks TLS and to use https://', async () => {
    const message = await failure({
      node: origin().replace('https:', 'http:'),
      caCert: caFile,
      apiKey: 'eA==',
    });
    expect(message).toMatch(/speaks TLS.*https:\/\//);
  });

  it('an expired API key: passes on what Elasticsearch says ("api key is expired")', async () => {
    const key = await admin.security.createApiKey({ name: 'expiring', expiration: '1s' });
    await new Promise((r) => setTimeout(r, 2500));
    const message = await failure({ node: origin(), caCert: caFile, apiKey: key.encoded });
    expect(message).toContain('401');
    expect(message).toContain('api key is expired');
  });

  it('a CA that did not sign the server certificate: says it does not verify, not "set ES_CA_CERT"', async () => {
    const message = await failure({ node: origin(), caCert: otherCa, apiKey: 'eA==' });
    expect(message).toContain(`CA certificate ${otherCa} does not verify`);
    expect(message).not.toContain('set ES_CA_CERT');
  });

  it('a raw id:api_key: says to use the base64 encoded form', async () => {
    const key = await admin.security.createApiKey({ name: 'raw', expiration: '1h' });
    const message = await failure({ node: origin(), caCert: caFile, apiKey: `${key.id}:${key.api_key}` });
    expect(message).toMatch(/id:api_key.*base64.*encoded/);
    expect(message).not.toContain(key.api_key);
  });

  it('mlmon collect with a rejected key: exits 1 at start, naming ES_API_KEY and the reason', async () => {
    const key = await admin.security.createApiKey({ name: 'revoked', expiration: '1h' });
    await admin.security.invalidateApiKey({ ids: [key.id] });
    const config = join(work, 'collect.config.json');
    writeFileSync(config, JSON.stringify({ collector: { spoolDir: join(work, 'spool'), port: 0 } }));
    const r = await mlmon(['collect', '--config', config], {
      ES_URL: origin(),
      ES_CA_CERT: caFile,
      ES_API_KEY: key.encoded,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/rejected ES_API_KEY .*401: API key: api key .*has been invalidated/);
    expect(r.stderr).not.toContain(key.encoded);
  });

  it('a missing CA file: exit 2 and the same words from every command, ES_CA_CERT named', async () => {
    const missing = join(work, 'no-such-ca.pem');
    const config = join(work, 'mlmon.config.json');
    writeFileSync(config, JSON.stringify({ models: [{ name: 'm', window: '1h', jobs: ['drift'] }] }));
    const runs = [
      ['analyze', '--model', 'm', '--from', 'now-2h', '--to', 'now', '--window', '1h'],
      ['report', '--model', 'm', '--last', '1d', '--format', 'json'],
      ['setup', '--format', 'json'],
      ['schedule', '--config', config, '--once'],
      ['collect', '--config', config, '--port', '0'],
    ];
    for (const args of runs) {
      const r = await mlmon(args, { ES_URL: origin(), ES_CA_CERT: missing, ES_API_KEY: 'eA==' });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args[0]).toContain(`ES_CA_CERT: file not found: ${missing}`);
    }
  });
});

function mlmon(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, MLMON_DEBUG: '', ES_USERNAME: '', ES_PASSWORD: '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
  });
}
