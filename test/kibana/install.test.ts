/**
 * `mlmon kibana install` against a contract double of Kibana: a local node:http server that
 * enforces what Kibana's documented HTTP API requires (paths and methods, the kbn-xsrf header on
 * writes, `elastic-api-version` when sent, credentials, spaces under /s/{space}, multipart import
 * with `overwrite=true`, rule and connector bodies checked with src/kibana/check.ts, PUT bodies
 * without rule_type_id/consumer/enabled) and answers in Kibana's shapes, including 401, 403, 404
 * for an unknown space, 409 conflicts and partial imports (200 with success: false). It is not
 * Kibana: what it cannot prove is listed in kibana/README.md.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { savedObjects } from '../../src/kibana/export.js';
import { installKibana, type InstallOptions } from '../../src/kibana/install.js';
import { DEFAULT_ALERT_SETTINGS, type AlertSettings } from '../../src/kibana/rules.js';
import { error, freshState, handle, state } from './contract-double.js';

const SETTINGS: AlertSettings = {
  ...DEFAULT_ALERT_SETTINGS,
  email: {
    from: 'mlmon@example.org',
    host: 'smtp.example.org',
    port: 587,
    secure: false,
    to: ['oncall@example.org'],
  },
};

describe('mlmon kibana install against a contract double of Kibana', () => {
  let server: Server;
  let url: string;
  const options = (extra: Partial<InstallOptions> = {}): InstallOptions => ({
    url,
    apiKey: state.current.apiKey,
    settings: SETTINGS,
    ...extra,
  });
  const writes = () =>
    state.current.requests.filter((r) => r.method !== 'GET' && !r.path.includes('_bulk_get'));

  beforeAll(async () => {
    server = createServer((req, res) => {
      handle(req, res).catch((e: unknown) => error(res, 500, 'Internal Server Error', String(e)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    state.current = freshState();
  });

  it('first install creates everything, with kbn-xsrf on every write and a multipart import with overwrite', async () => {
    const report = await installKibana(options());
    const objects = savedObjects().length;
    // 8 data views + 35 Lens visualizations + 1 Vega visualization + 1 links panel + 5 dashboards;
    // 2 connectors; 10 rules
    expect(objects).toBe(50);
    expect(report.counts).toEqual({ created: objects + 2 + 10, updated: 0, unchanged: 0 });
    expect(report.kibana).toBe('8.19.3');
    expect(state.current.objects.size).toBe(objects);
    expect(state.current.connectors.size).toBe(2);
    expect(state.current.rules.size).toBe(10);
    expect(writes().every((r) => r.xsrf)).toBe(true);
    const imports = writes().filter((r) => r.path.startsWith('/api/saved_objects/_import'));
    expect(imports).toHaveLength(1);
    expect(imports[0]?.path).toBe('/api/saved_objects/_import?overwrite=true');
    expect(imports[0]?.contentType).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('a second install changes nothing and reports everything unchanged', async () => {
    await installKibana(options());
    state.current.requests = [];
    const second = await installKibana(options());
    expect(second.counts).toEqual({ created: 0, updated: 0, unchanged: 50 + 2 + 10 });
    expect(writes()).toEqual([]);
  });

  it('a changed setting updates only the rule it affects (PUT without rule_type_id, consumer, enabled)', async () => {
    await installKibana(options());
    state.current.requests = [];
    const report = await installKibana(options({ settings: { ...SETTINGS, qualityRateThreshold: 0.1 } }));
    expect(report.items.filter((i) => i.action !== 'unchanged')).toEqual([
      {
        kind: 'rule',
        type: '.es-query',
        id: 'mlmon-rule-quality-rate',
        title: 'mlmon: data-quality rate above threshold',
        action: 'updated',
      },
    ]);
    expect(writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /api/alerting/rule/mlmon-rule-quality-rate',
    ]);
    expect(state.current.rules.get('mlmon-rule-quality-rate')?.revision).toBe(1);
  });

  it('a connector with SMTP credentials is re-sent every time (Kibana never returns secrets)', async () => {
    const withAuth = { ...SETTINGS, email: { ...SETTINGS.email!, user: 'mailer', password: 'p4ss' } };
    await installKibana(options({ settings: withAuth }));
    const second = await installKibana(options({ settings: withAuth }));
    expect(second.items.filter((i) => i.action === 'updated').map((i) => i.id)).toEqual([
      'mlmon-connector-email',
    ]);
    expect(state.current.connectors.get('mlmon-connector-email')?.secrets).toEqual({
      user: 'mailer',
      password: 'p4ss',
    });
  });

  it('--dry-run reports what would be created and writes nothing', async () => {
    const report = await installKibana(options({ dryRun: true }));
    expect(report.counts.created).toBe(62);
    expect(writes()).toEqual([]);
  });

  it('installs into a space under /s/{space}', async () => {
    const report = await installKibana(options({ space: 'ml' }));
    expect(report.space).toBe('ml');
    expect(writes().every((r) => r.path.startsWith('/s/ml/api/'))).toBe(true);
  });

  it('one-line errors: unknown space, old Kibana, 401, 403, unreachable', async () => {
    await expect(installKibana(options({ space: 'nope' }))).rejects.toThrow(
      'Kibana space "nope" does not exist',
    );
    state.current.version = '8.18.2';
    await expect(installKibana(options())).rejects.toThrow(
      'Kibana 8.18.2 is older than 8.19.0, the oldest mlmon supports',
    );
    state.current = freshState();
    const wrongKey = 'd3Jvbmcta2V5';
    const unauthorised = await installKibana(options({ apiKey: wrongKey })).catch((e: Error) => e);
    expect(String(unauthorised)).toMatch(/rejected the credentials \(401\)/);
    expect(String(unauthorised)).not.toContain(wrongKey);
    state.current.readOnly = true;
    await expect(installKibana(options())).rejects.toThrow(/missing Kibana privileges \(403\)/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(installKibana(options({ url: `http://127.0.0.1:${port}` }))).rejects.toThrow(
      `Kibana at http://127.0.0.1:${port} is unreachable: ECONNREFUSED`,
    );
  });

  it('a partial import (200 with success false) surfaces each failed object', async () => {
    state.current.failImport = new Set(['mlmon-dashboard-drift', 'mlmon-lens-drift-heatmap']);
    const failure = await installKibana(options()).catch((e: Error) => e.message);
    expect(failure).toMatch(/^saved-object import partly failed \(2 of 50 objects\): /);
    expect(failure).toContain(
      'lens/mlmon-lens-drift-heatmap "Drift (PSI) per feature over time": missing_references',
    );
    expect(failure).toContain(
      'dashboard/mlmon-dashboard-drift "mlmon · Feature drift": missing_references (missing index-pattern/gone)',
    );
    expect(failure).not.toContain('\n');
  });

  it('a 409 on rule creation is reported, not ignored', async () => {
    state.current.conflictOnCreate = new Set(['mlmon-rule-dead-letters']);
    await expect(installKibana(options())).rejects.toThrow(/rule mlmon-rule-dead-letters .*\(409\)/);
  });

  it('the CLI prints a report and never the API key or the SMTP password', async () => {
    const saved = { ...process.env };
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream,
      stderr: { write: (s: string) => err.push(s) } as unknown as NodeJS.WritableStream,
    };
    try {
      Object.assign(process.env, {
        KIBANA_URL: url,
        KIBANA_API_KEY: state.current.apiKey,
        SMTP_URL: 'smtp://mailer:Zx9-secret@smtp.example.org:587',
        SMTP_FROM: 'mlmon@example.org',
        ALERT_EMAIL_TO: 'oncall@example.org',
      });
      expect(await run(['kibana', 'install', '--format', 'json'], io)).toBe(0);
      const report = JSON.parse(out.join('')) as { counts: Record<string, number> };
      expect(report.counts).toEqual({ created: 62, updated: 0, unchanged: 0 });
      expect(state.current.connectors.get('mlmon-connector-email')?.config).toMatchObject({
        host: 'smtp.example.org',
        port: 587,
      });
      process.env.KIBANA_API_KEY = 'bm90LXRoZS1rZXk=';
      expect(await run(['kibana', 'install'], io)).toBe(1);
      const all = out.join('') + err.join('');
      expect(err.join('')).toMatch(
        /^mlmon kibana install: Kibana at http:\/\/127\.0\.0\.1:\d+ rejected the credentials \(401\)/,
      );
      for (const secret of ['Zx9-secret', state.current.apiKey, 'bm90LXRoZS1rZXk='])
        expect(all).not.toContain(secret);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
