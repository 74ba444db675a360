/**
 * Installs mlmon's saved objects, connectors and rules into a Kibana through its HTTP API:
 * - GET /api/status (version, at least KIBANA_MIN_VERSION), GET /api/spaces/space/{space};
 * - POST /api/saved_objects/_bulk_get to learn what exists, then POST
 *   /api/saved_objects/_import?overwrite=true (multipart, field `file`) with the new or changed objects;
 * - GET, then POST (create) or PUT (update) /api/actions/connector/{id} and /api/alerting/rule/{id}.
 * Every request carries `kbn-xsrf`; a space prefixes the paths with /s/{space}. What was created,
 * updated or left unchanged is reported; failures are one-line {@link KibanaInstallError}s that
 * never contain credentials.
 *
 * Written with node:http/https rather than fetch so that a private CA certificate can be passed per
 * request (fetch in Node 20 needs undici's Agent for that, which is not a declared dependency).
 * The multipart body is serialised by the platform's own FormData (via Request), not by hand.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isDeepStrictEqual } from 'node:util';
import { savedObjects, toNdjson } from './export.js';
import {
  connectorCreateBody,
  connectorUpdateBody,
  connectors as buildConnectors,
  rules as buildRules,
  ruleCreateBody,
  ruleUpdateBody,
  type AlertSettings,
  type Connector,
  type Rule,
} from './rules.js';
import { KIBANA_MIN_VERSION, type SavedObject } from './saved-objects.js';

export interface KibanaConnection {
  url: string;
  apiKey?: string;
  username?: string;
  password?: string;
  /** Kibana space id; default the default space. */
  space?: string;
  /** Path to a PEM CA certificate. */
  caCert?: string;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

export interface InstallOptions extends KibanaConnection {
  settings: AlertSettings;
  dryRun?: boolean;
}

export type InstallAction = 'created' | 'updated' | 'unchanged';

export interface InstallItem {
  kind: 'saved-object' | 'connector' | 'rule';
  type: string;
  id: string;
  title: string;
  action: InstallAction;
}

export interface InstallReport {
  kibana: string;
  space: string;
  dryRun: boolean;
  items: InstallItem[];
  counts: Record<InstallAction, number>;
}

export class KibanaInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KibanaInstallError';
  }
}

/** The URL without credentials or query, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

interface Response {
  status: number;
  body: unknown;
}

/** Compares dotted version strings numerically (8.19.0 < 9.1.2); pre-release tags are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .split(/[.-]/)
      .slice(0, 3)
      .map((p) => Number.parseInt(p, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

class KibanaClient {
  private readonly base: URL;
  private readonly headers: Record<string, string>;
  private readonly ca?: Buffer;
  constructor(private readonly conn: KibanaConnection) {
    let base: URL;
    try {
      base = new URL(conn.url);
    } catch {
      throw new KibanaInstallError(`KIBANA_URL is not a valid URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new KibanaInstallError(`KIBANA_URL must be http(s), got ${base.protocol}`);
    this.headers = { 'kbn-xsrf': 'mlmon', 'elastic-api-version': '2023-10-31' };
    const user = conn.username ?? (base.username ? decodeURIComponent(base.username) : undefined);
    const password = conn.password ?? (base.password ? decodeURIComponent(base.password) : undefined);
    base.username = '';
    base.password = '';
    this.base = base;
    if (conn.apiKey) this.headers.authorization = `ApiKey ${conn.apiKey}`;
    else if (user !== undefined)
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
    if (conn.caCert) {
      try {
        this.ca = readFileSync(conn.caCert);
      } catch (error) {
        throw new KibanaInstallError(
          `cannot read the CA certificate ${conn.caCert}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        );
      }
    }
  }

  spacePath(path: string): string {
    return this.conn.space && this.conn.space !== 'default'
      ? `/s/${encodeURIComponent(this.conn.space)}${path}`
      : path;
  }

  async send(
    method: string,
    path: string,
    body?: { json: unknown } | { raw: Buffer; contentType: string },
  ): Promise<Response> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    const headers: Record<string, string> = { ...this.headers, accept: 'application/json' };
    let payload: Buffer | undefined;
    if (body && 'json' in body) {
      payload = Buffer.from(JSON.stringify(body.json));
      headers['content-type'] = 'application/json';
    } else if (body) {
      payload = body.raw;
      headers['content-type'] = body.contentType;
    }
    if (payload) headers['content-length'] = String(payload.length);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return await new Promise<Response>((resolve, reject) => {
      const req = send(
        url,
        { method, headers, timeout: this.conn.timeoutMs ?? 30_000, ...(this.ca ? { ca: this.ca } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text for the message
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error: NodeJS.ErrnoException) => {
        const where = safeUrl(this.conn.url);
        // OpenSSL's report of a TLS hello answered in plain HTTP ("wrong version number", EPROTO).
        const plainHttp =
          url.protocol === 'https:' &&
          /wrong version number|packet length too long|ssl3_get_record|EPROTO/i.test(
            `${error.code ?? ''} ${error.message}`,
          );
        reject(
          new KibanaInstallError(
            plainHttp
              ? `Kibana at ${where} does not speak TLS: it answered in plain HTTP (use http://)`
              : `Kibana at ${where} is unreachable: ${error.code ?? error.message}`,
          ),
        );
      });
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** One-line message for an unexpected answer: status, Kibana's own message, the request. */
  fail(what: string, res: Response): never {
    const message = (res.body as { message?: string } | undefined)?.message;
    const detail =
      typeof message === 'string'
        ? message
        : typeof res.body === 'string'
          ? notKibanaBody(res.body, this.conn.url)
          : '';
    if (res.status === 401)
      throw new KibanaInstallError(
        `Kibana at ${safeUrl(this.conn.url)} rejected the credentials (401) while ${what}`,
      );
    if (res.status === 403)
      throw new KibanaInstallError(
        `missing Kibana privileges (403) while ${what}${detail ? `: ${detail}` : ''}; the user or API key needs saved-object management, actions and alerting (all) in the space`,
      );
    throw new KibanaInstallError(
      `${what} failed: ${res.status}${detail ? ` ${detail}` : ''}`.replace(/\s+/g, ' '),
    );
  }
}

/**
 * A text body where Kibana answers JSON: a web server's or proxy's page, described by its title and
 * never quoted whole (it can be a whole page).
 */
function notKibanaBody(body: string, url: string): string {
  if (!/^\s*</.test(body)) return body.slice(0, 200);
  const title = /<title[^>]*>([^<]{1,80})<\/title>/i.exec(body)?.[1]?.trim();
  return `an HTML page${title ? ` ("${title}")` : ''}, not Kibana's JSON: is ${safeUrl(url)} Kibana?`;
}

/** Fields of a rule Kibana returns that mlmon sets, in the shape mlmon sends them. */
function ruleAsSent(existing: Record<string, unknown>): Record<string, unknown> {
  const actions = ((existing.actions as Array<Record<string, unknown>> | undefined) ?? []).map((a) => ({
    group: a.group,
    id: a.id,
    params: a.params,
    frequency: a.frequency,
  }));
  return {
    name: existing.name,
    schedule: existing.schedule,
    params: existing.params,
    actions,
    tags: existing.tags,
  };
}

function sameSavedObject(existing: Record<string, unknown>, ours: SavedObject): boolean {
  return (
    isDeepStrictEqual(existing.attributes, ours.attributes) &&
    isDeepStrictEqual(existing.references ?? [], ours.references)
  );
}

function objectTitle(o: SavedObject): string {
  return String(o.attributes.title ?? o.id);
}

/** Describes each per-object error of a partial import in one line. */
export function describeImportErrors(errors: Array<Record<string, unknown>>): string {
  return errors
    .map((e) => {
      const err = (e.error ?? {}) as {
        type?: string;
        message?: string;
        references?: Array<{ type: string; id: string }>;
      };
      const refs = err.references?.length
        ? ` (missing ${err.references.map((r) => `${r.type}/${r.id}`).join(', ')})`
        : '';
      return `${e.type}/${e.id}${e.title ? ` "${e.title}"` : ''}: ${err.type ?? 'error'}${err.message ? ` ${err.message}` : ''}${refs}`;
    })
    .join('; ');
}

export async function installKibana(options: InstallOptions): Promise<InstallReport> {
  const kibana = new KibanaClient(options);
  const dryRun = options.dryRun ?? false;
  const items: InstallItem[] = [];

  // Version: /api/status is space-independent.
  const status = await kibana.send('GET', '/api/status');
  if (status.status !== 200) kibana.fail('reading /api/status', status);
  const version = (status.body as { version?: { number?: string } } | undefined)?.version?.number;
  if (typeof version !== 'string')
    throw new KibanaInstallError(
      `${safeUrl(options.url)} does not answer like Kibana (no version in /api/status)`,
    );
  if (compareVersions(version, KIBANA_MIN_VERSION) < 0)
    throw new KibanaInstallError(
      `Kibana ${version} is older than ${KIBANA_MIN_VERSION}, the oldest mlmon supports`,
    );

  const space = options.space ?? 'default';
  if (space !== 'default') {
    const s = await kibana.send('GET', `/api/spaces/space/${encodeURIComponent(space)}`);
    if (s.status === 404) throw new KibanaInstallError(`Kibana space "${space}" does not exist`);
    if (s.status !== 200) kibana.fail(`reading space "${space}"`, s);
  }

  // Saved objects: compare with what exists, import the new and changed ones.
  const objects = savedObjects();
  const got = await kibana.send('POST', kibana.spacePath('/api/saved_objects/_bulk_get'), {
    json: objects.map((o) => ({ type: o.type, id: o.id })),
  });
  if (got.status === 404 && space !== 'default')
    throw new KibanaInstallError(`Kibana space "${space}" does not exist`);
  if (got.status !== 200) kibana.fail('reading existing saved objects', got);
  const existing = ((got.body as { saved_objects?: Array<Record<string, unknown>> }).saved_objects ??
    []) as Array<Record<string, unknown>>;
  const toImport: SavedObject[] = [];
  for (const o of objects) {
    const found = existing.find((e) => e.id === o.id && e.type === o.type && !e.error);
    const action: InstallAction = !found ? 'created' : sameSavedObject(found, o) ? 'unchanged' : 'updated';
    if (action !== 'unchanged') toImport.push(o);
    items.push({ kind: 'saved-object', type: o.type, id: o.id, title: objectTitle(o), action });
  }
  if (!dryRun && toImport.length > 0) {
    const form = new FormData();
    form.append('file', new Blob([toNdjson(toImport)], { type: 'application/ndjson' }), 'mlmon.ndjson');
    const multipart = new Request('http://localhost/', { method: 'POST', body: form });
    const raw = Buffer.from(await multipart.arrayBuffer());
    const contentType = multipart.headers.get('content-type') ?? '';
    const imported = await kibana.send(
      'POST',
      kibana.spacePath('/api/saved_objects/_import?overwrite=true'),
      {
        raw,
        contentType,
      },
    );
    if (imported.status === 404 && space !== 'default')
      throw new KibanaInstallError(`Kibana space "${space}" does not exist`);
    if (imported.status !== 200) kibana.fail('importing saved objects', imported);
    const result = imported.body as { success?: boolean; errors?: Array<Record<string, unknown>> };
    if (result.success !== true) {
      const errors = result.errors ?? [];
      throw new KibanaInstallError(
        `saved-object import partly failed (${errors.length} of ${toImport.length} objects): ${describeImportErrors(errors)}`,
      );
    }
  }

  // Connectors, then the rules that use them.
  for (const c of buildConnectors(options.settings)) {
    items.push(await upsertConnector(kibana, c, dryRun));
  }
  for (const r of buildRules(options.settings)) {
    items.push(await upsertRule(kibana, r, dryRun));
  }

  const counts: Record<InstallAction, number> = { created: 0, updated: 0, unchanged: 0 };
  for (const i of items) counts[i.action] += 1;
  return { kibana: version, space, dryRun, items, counts };
}

async function upsertConnector(kibana: KibanaClient, c: Connector, dryRun: boolean): Promise<InstallItem> {
  const path = kibana.spacePath(`/api/actions/connector/${encodeURIComponent(c.id)}`);
  const item = { kind: 'connector' as const, type: c.connector_type_id, id: c.id, title: c.name };
  const found = await kibana.send('GET', path);
  if (found.status === 404) {
    if (!dryRun) {
      const res = await kibana.send('POST', path, { json: connectorCreateBody(c) });
      if (res.status !== 200) kibana.fail(`creating connector ${c.id}`, res);
    }
    return { ...item, action: 'created' };
  }
  if (found.status !== 200) kibana.fail(`reading connector ${c.id}`, found);
  const body = found.body as Record<string, unknown>;
  if (body.connector_type_id !== c.connector_type_id)
    throw new KibanaInstallError(
      `connector ${c.id} exists with type ${String(body.connector_type_id)}, not ${c.connector_type_id}; delete it in Kibana first`,
    );
  // Kibana never returns secrets: a connector with secrets is always re-sent.
  const same =
    body.name === c.name &&
    isDeepStrictEqual(body.config ?? {}, c.config) &&
    Object.keys(c.secrets).length === 0;
  if (same) return { ...item, action: 'unchanged' };
  if (!dryRun) {
    const res = await kibana.send('PUT', path, { json: connectorUpdateBody(c) });
    if (res.status !== 200) kibana.fail(`updating connector ${c.id}`, res);
  }
  return { ...item, action: 'updated' };
}

async function upsertRule(kibana: KibanaClient, r: Rule, dryRun: boolean): Promise<InstallItem> {
  const path = kibana.spacePath(`/api/alerting/rule/${encodeURIComponent(r.id)}`);
  const item = { kind: 'rule' as const, type: r.rule_type_id, id: r.id, title: r.name };
  const found = await kibana.send('GET', path);
  if (found.status === 404) {
    if (!dryRun) {
      const res = await kibana.send('POST', path, { json: ruleCreateBody(r) });
      if (res.status === 409)
        throw new KibanaInstallError(
          `rule ${r.id} was created by someone else meanwhile (409); run the install again`,
        );
      if (res.status !== 200) kibana.fail(`creating rule ${r.id}`, res);
    }
    return { ...item, action: 'created' };
  }
  if (found.status !== 200) kibana.fail(`reading rule ${r.id}`, found);
  const body = found.body as Record<string, unknown>;
  if (body.rule_type_id !== r.rule_type_id)
    throw new KibanaInstallError(
      `rule ${r.id} exists with type ${String(body.rule_type_id)}, not ${r.rule_type_id}; delete it in Kibana first`,
    );
  if (isDeepStrictEqual(ruleAsSent(body), ruleUpdateBody(r))) return { ...item, action: 'unchanged' };
  if (!dryRun) {
    const res = await kibana.send('PUT', path, { json: ruleUpdateBody(r) });
    if (res.status === 409)
      throw new KibanaInstallError(
        `rule ${r.id} changed in Kibana while updating (409); run the install again`,
      );
    if (res.status !== 200) kibana.fail(`updating rule ${r.id}`, res);
  }
  return { ...item, action: 'updated' };
}
