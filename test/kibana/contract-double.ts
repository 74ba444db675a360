/**
 * A contract double of Kibana's HTTP API for the installer's tests (test/kibana/install.test.ts,
 * and the demo's KIBANA_URL path in test/demo): a local node:http server that enforces what
 * Kibana's documented API requires and answers in Kibana's shapes (see install.test.ts for the
 * contract it enforces). It is not Kibana: what it cannot prove is listed in kibana/README.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkActionParams, checkConnector, checkNdjson, checkRule } from '../../src/kibana/check.js';

type Json = Record<string, unknown>;

export interface DoubleState {
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

export function freshState(): DoubleState {
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

export const state: { current: DoubleState } = { current: freshState() };

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'kbn-name': 'contract-double' });
  res.end(JSON.stringify(body));
}
export const error = (res: ServerResponse, status: number, name: string, message: string) =>
  send(res, status, { statusCode: status, error: name, message });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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

/** The double on a free port of 127.0.0.1, with a fresh state. */
export async function startContractDouble(): Promise<{ url: string; server: Server }> {
  state.current = freshState();
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => error(res, 500, 'Internal Server Error', String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
