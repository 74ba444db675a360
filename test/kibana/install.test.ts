/**
 * `mlmon kibana install` against a contract double of Kibana: a local node:http server that
 * enforces what Kibana's documented HTTP API requires (paths and methods, the kbn-xsrf header on
 * writes, `elastic-api-version` when sent, credentials, spaces under /s/{space}, multipart import
 * with `overwrite=true`, rule and connector bodies checked with src/kibana/check.ts, PUT bodies
 * without rule_type_id/consumer/enabled) and answers in Kibana's shapes, including 401, 403, 404
 * for an unknown space, 409 conflicts and partial imports (200 with success: false). It is not
 * Kibana: what it cannot prove is listed in kibana/README.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { checkActionParams, checkConnector, checkNdjson, checkRule } from '../../src/kibana/check.js';
import { savedObjects } from '../../src/kibana/export.js';
import { installKibana, type InstallOptions } from '../../src/kibana/install.js';
import { DEFAULT_ALERT_SETTINGS, type AlertSettings } from '../../src/kibana/rules.js';

type Json = Record<string, unknown>;

interface DoubleState {
  version: string;
  apiKey: string;
  spaces: Set<string>;
  /** Requests with a method other than GET answer 403 (a read-only user). */
  readOnly: boolean;
  /** Saved-object ids whose import fails with missing_references. */
  failImport: Set<string>;
  /** Rule ids whose creation answers 409. */
  conflictOnCreate: Set<string>;
  objects: Map<string, Json>;
  connectors: Map<string, Json>;
  rules: Map<string, Json>;
  requests: Array<{ method: string; path: string; xsrf: boolean; contentType?: string }>;
}

function freshState(): DoubleState {
  return {
    version: '8.19.3',
    apiKey: 'c2VjcmV0LWtleQ==',
    spaces: new Set(['default', 'ml']),
    readOnly: false,
    failImport: new Set(),
    conflictOnCreate: new Set(),
    objects: new Map(),
    connectors: new Map(),
    rules: new Map(),
    requests: [],
  };
}

const state: { current: DoubleState } = { current: freshState() };

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'kbn-name': 'contract-double' });
  res.end(JSON.stringify(body));
}
const error = (res: ServerResponse, status: number, name: string, message: string) =>
  send(res, status, { statusCode: status, error: name, message });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const s = state.current;
  const url = new URL(req.url ?? '/', 'http://double');
  const method = req.method ?? 'GET';
  s.requests.push({
    method,
    path: url.pathname + url.search,
    xsrf: req.headers['kbn-xsrf'] !== undefined,
    contentType: req.headers['content-type'],
  });
  if (req.headers.authorization !== `ApiKey ${s.apiKey}`)
    return error(
      res,
      401,
      'Unauthorized',
      '[security_exception]: unable to authenticate with provided credentials',
    );
  const apiVersion = req.headers['elastic-api-version'];
  if (apiVersion !== undefined && apiVersion !== '2023-10-31')
    return error(res, 400, 'Bad Request', `Invalid version ${String(apiVersion)}`);
  if (method !== 'GET' && req.headers['kbn-xsrf'] === undefined)
    return error(res, 400, 'Bad Request', 'Request must contain a kbn-xsrf header.');
  let path = url.pathname;
  const spaceMatch = /^\/s\/([^/]+)(\/.*)$/.exec(path);
  if (spaceMatch) {
    if (!s.spaces.has(decodeURIComponent(spaceMatch[1] as string)))
      return error(res, 404, 'Not Found', 'Not Found');
    path = spaceMatch[2] as string;
  }
  if (s.readOnly && method !== 'GET' && path !== '/api/saved_objects/_bulk_get')
    return error(res, 403, 'Forbidden', 'Unable to create rule: the user lacks the required privileges');
  const raw = await readBody(req);
  const json = () => JSON.parse(raw.toString('utf8')) as unknown;

  if (method === 'GET' && path === '/api/status')
    return send(res, 200, {
      name: 'kibana',
      version: { number: s.version, build_flavor: 'traditional' },
      status: {},
    });
  let m = /^\/api\/spaces\/space\/([^/]+)$/.exec(path);
  if (method === 'GET' && m) {
    const id = decodeURIComponent(m[1] as string);
    return s.spaces.has(id) ? send(res, 200, { id, name: id }) : error(res, 404, 'Not Found', 'Not Found');
  }
  if (method === 'POST' && path === '/api/saved_objects/_bulk_get') {
    const wanted = json() as Array<{ type: string; id: string }>;
    return send(res, 200, {
      saved_objects: wanted.map(
        (w) =>
          s.objects.get(`${w.type}/${w.id}`) ?? {
            id: w.id,
            type: w.type,
            error: {
              statusCode: 404,
              error: 'Not Found',
              message: `Saved object [${w.type}/${w.id}] not found`,
            },
          },
      ),
    });
  }
  if (method === 'POST' && path === '/api/saved_objects/_import') {
    if (!String(req.headers['content-type']).startsWith('multipart/form-data'))
      return error(res, 415, 'Unsupported Media Type', 'Unsupported Media Type');
    const form = await new Request('http://double/', {
      method: 'POST',
      headers: { 'content-type': String(req.headers['content-type']) },
      body: raw,
    }).formData();
    const file = form.get('file');
    if (!(file instanceof Blob))
      return error(res, 400, 'Bad Request', '[request body.file]: expected value of type [Stream]');
    const text = await file.text();
    const objects = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    const existing = [...s.objects.values()].map((o) => ({ type: String(o.type), id: String(o.id) }));
    const problems = checkNdjson(text, existing);
    if (problems.length > 0) return error(res, 400, 'Bad Request', problems.join('; '));
    const overwrite = url.searchParams.get('overwrite') === 'true';
    const errors: Json[] = [];
    const successResults: Json[] = [];
    for (const o of objects) {
      const key = `${String(o.type)}/${String(o.id)}`;
      const title = (o.attributes as Json).title;
      if (s.failImport.has(String(o.id)))
        errors.push({
          id: o.id,
          type: o.type,
          title,
          meta: { title },
          error: { type: 'missing_references', references: [{ type: 'index-pattern', id: 'gone' }] },
        });
      else if (s.objects.has(key) && !overwrite)
        errors.push({ id: o.id, type: o.type, title, error: { type: 'conflict' } });
      else {
        s.objects.set(key, { ...o, version: 'WzEsMV0=', namespaces: ['default'] });
        successResults.push({
          id: o.id,
          type: o.type,
          meta: { title },
          ...(overwrite ? { overwrite: true } : {}),
        });
      }
    }
    return send(res, 200, {
      success: errors.length === 0,
      successCount: successResults.length,
      successResults,
      ...(errors.length ? { errors } : {}),
    });
  }
  m = /^\/api\/actions\/connector\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    const found = s.connectors.get(id);
    if (method === 'GET') {
      if (!found) return error(res, 404, 'Not Found', `Saved object [action/${id}] not found`);
      const { secrets: _secrets, ...visible } = found;
      return send(res, 200, {
        ...visible,
        is_preconfigured: false,
        is_deprecated: false,
        is_missing_secrets: false,
      });
    }
    const body = json() as Json;
    if (method === 'POST') {
      if (found) return error(res, 409, 'Conflict', `Saved object [action/${id}] conflict`);
      const problems = checkConnector({ ...body, id });
      if (problems.length) return error(res, 400, 'Bad Request', problems.join('; '));
      s.connectors.set(id, { id, ...body });
      return send(res, 200, { id, ...body, secrets: undefined });
    }
    if (method === 'PUT') {
      if (!found) return error(res, 404, 'Not Found', `Saved object [action/${id}] not found`);
      if ('connector_type_id' in body)
        return error(
          res,
          400,
          'Bad Request',
          '[request body.connector_type_id]: definition for this key is missing',
        );
      const merged = { ...found, ...body };
      const problems = checkConnector(merged);
      if (problems.length) return error(res, 400, 'Bad Request', problems.join('; '));
      s.connectors.set(id, merged);
      return send(res, 200, { ...merged, secrets: undefined });
    }
  }
  m = /^\/api\/alerting\/rule\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    const found = s.rules.get(id);
    if (method === 'GET') {
      if (!found) return error(res, 404, 'Not Found', `Saved object [alert/${id}] not found`);
      return send(res, 200, found);
    }
    const body = json() as Json;
    const actionProblems = (actions: Json[]) =>
      actions.flatMap((a) => {
        const c = s.connectors.get(String(a.id));
        return c
          ? checkActionParams(String(c.connector_type_id), a.params as Json)
          : [`connector ${String(a.id)} not found`];
      });
    // what Kibana adds to a stored rule (ids per action, status, audit fields)
    const stored = (rule: Json): Json => ({
      ...rule,
      id,
      actions: (rule.actions as Json[]).map((a, i) => ({
        ...a,
        uuid: `uuid-${i}`,
        connector_type_id: s.connectors.get(String(a.id))?.connector_type_id,
      })),
      execution_status: { status: 'pending', last_execution_date: '2026-01-01T00:00:00.000Z' },
      created_by: 'elastic',
      mute_all: false,
      muted_alert_ids: [],
      revision: ((found?.revision as number | undefined) ?? -1) + 1,
    });
    if (method === 'POST') {
      if (found || s.conflictOnCreate.has(id))
        return error(res, 409, 'Conflict', `Saved object [alert/${id}] conflict`);
      const problems = [...checkRule({ ...body, id }), ...actionProblems((body.actions as Json[]) ?? [])];
      if (problems.length) return error(res, 400, 'Bad Request', problems.join('; '));
      const rule = stored(body);
      s.rules.set(id, rule);
      return send(res, 200, rule);
    }
    if (method === 'PUT') {
      if (!found) return error(res, 404, 'Not Found', `Saved object [alert/${id}] not found`);
      for (const key of ['rule_type_id', 'consumer', 'enabled'])
        if (key in body)
          return error(res, 400, 'Bad Request', `[request body.${key}]: definition for this key is missing`);
      const merged = { ...found, ...body };
      const problems = [...checkRule(merged), ...actionProblems((body.actions as Json[]) ?? [])];
      if (problems.length) return error(res, 400, 'Bad Request', problems.join('; '));
      const rule = stored(merged);
      s.rules.set(id, rule);
      return send(res, 200, rule);
    }
  }
  return error(res, 404, 'Not Found', `no route ${method} ${path}`);
}

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
    // 8 data views + 32 Lens visualizations + 1 Vega visualization + 1 links panel + 5 dashboards;
    // 2 connectors; 7 rules
    expect(objects).toBe(47);
    expect(report.counts).toEqual({ created: objects + 2 + 7, updated: 0, unchanged: 0 });
    expect(report.kibana).toBe('8.19.3');
    expect(state.current.objects.size).toBe(objects);
    expect(state.current.connectors.size).toBe(2);
    expect(state.current.rules.size).toBe(7);
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
    expect(second.counts).toEqual({ created: 0, updated: 0, unchanged: 47 + 2 + 7 });
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
    expect(report.counts.created).toBe(56);
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
    expect(failure).toMatch(/^saved-object import partly failed \(2 of 47 objects\): /);
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
      expect(report.counts).toEqual({ created: 56, updated: 0, unchanged: 0 });
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
