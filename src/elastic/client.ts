/**
 * One place that turns configuration (options or environment) into an Elasticsearch client, and
 * turns connection failures into messages a person can act on. Secrets never reach a message.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Client, errors, type ClientOptions } from '@elastic/elasticsearch';

export interface ConnectionOptions {
  /** Cluster URL; default `ES_URL`. May be a client instance instead (then everything else is ignored). */
  node?: string | Client;
  /** Base64 `id:key` or the encoded form Kibana shows; default `ES_API_KEY`. */
  apiKey?: string;
  /** Basic auth; default `ES_USERNAME` / `ES_PASSWORD`. */
  username?: string;
  password?: string;
  /** Path to a PEM CA certificate for TLS with a private CA; default `ES_CA_CERT`. */
  caCert?: string;
  /** Per-request timeout in ms (default 30 s). */
  requestTimeout?: number;
  /** Retries the client itself makes on connection errors (default 3). */
  maxRetries?: number;
  /** Anything else the client takes (compression, headers, …). */
  clientOptions?: Partial<ClientOptions>;
}

export class ElasticsearchConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ElasticsearchConnectionError';
  }
}

/**
 * The connection settings themselves are unusable (a CA file that is not there, a key in the wrong
 * form): nothing was contacted. Every command exits 2 on it, as on any other usage error.
 */
export class ElasticsearchSettingsError extends ElasticsearchConnectionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ElasticsearchSettingsError';
  }
}

/** The message for a CA file that cannot be read: one wording for every command (the configuration check uses it too). */
export function caCertProblem(path: string, error: NodeJS.ErrnoException): string {
  return error.code === 'ENOENT'
    ? `ES_CA_CERT: file not found: ${path} (or elasticsearch.caCert in the configuration file)`
    : `ES_CA_CERT: cannot read the CA certificate file ${path}: ${error.message}`;
}

/** The CA file each client was made with, so that a failed handshake can say which file did not verify. */
const caCertOf = new WeakMap<Client, string>();

/** The URL without credentials, for messages. */
export function displayUrl(url: string | undefined): string {
  if (!url) return '(no URL)';
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export function createClient(options: ConnectionOptions = {}): Client {
  if (options.node instanceof Client) return options.node;
  const node = options.node ?? process.env.ES_URL;
  if (!node) {
    throw new ElasticsearchConnectionError(
      'No Elasticsearch URL: set ES_URL (for example http://localhost:9200) or pass { node }.',
    );
  }
  let protocol: string;
  try {
    protocol = new URL(node).protocol;
  } catch {
    throw new ElasticsearchConnectionError(`ES_URL is not a valid URL: ${displayUrl(node)}`);
  }
  // The client's own "Invalid protocol" names neither the variable nor what it takes.
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new ElasticsearchConnectionError(
      `ES_URL must start with http:// or https://, not ${protocol}// (${displayUrl(node)})`,
    );
  const apiKey = options.apiKey ?? process.env.ES_API_KEY;
  // The create-API-key answer holds `id`, `api_key` and `encoded`; only `encoded` (base64 of
  // id:api_key) goes into the header. A pasted `id:api_key` would be refused as "Illegal base64".
  if (apiKey?.includes(':'))
    throw new ElasticsearchSettingsError(
      'ES_API_KEY holds an id:api_key pair; give the base64 `encoded` value of the key instead (the create API key answer has it; it is base64 of id:api_key)',
    );
  const username = options.username ?? process.env.ES_USERNAME;
  const password = options.password ?? process.env.ES_PASSWORD;
  const caCert = options.caCert ?? process.env.ES_CA_CERT;
  const clientOptions: ClientOptions = {
    node,
    requestTimeout: options.requestTimeout ?? 30_000,
    maxRetries: options.maxRetries ?? 3,
    ...options.clientOptions,
  };
  if (apiKey) clientOptions.auth = { apiKey };
  else if (username) clientOptions.auth = { username, password: password ?? '' };
  if (caCert) {
    let ca: string;
    try {
      ca = readFileSync(caCert, 'utf8');
    } catch (error) {
      throw new ElasticsearchSettingsError(caCertProblem(caCert, error as NodeJS.ErrnoException));
    }
    clientOptions.tls = { ...clientOptions.tls, ca };
  }
  const client = new Client(clientOptions);
  if (caCert) caCertOf.set(client, caCert);
  return client;
}

export interface ServerInfo {
  version: string;
  major: number;
  /** The build flavour the root endpoint reports, when it exists (`default`, `serverless`…). */
  flavor?: string;
}

/**
 * Checks that the cluster answers and is Elasticsearch, and returns its version. Uses the nodes
 * info API: Elastic's integ-test distribution lacks `GET /`, the full distribution has both.
 */
export async function checkConnection(client: Client): Promise<ServerInfo> {
  const where = displayUrl(client.connectionPool.connections[0]?.url?.toString());
  try {
    const nodes = await client.nodes.info({
      node_id: '_local',
      metric: '_none',
      filter_path: 'nodes.*.version',
    });
    const version = Object.values((nodes as { nodes?: Record<string, { version?: string }> }).nodes ?? {})[0]
      ?.version;
    if (!version) throw new ElasticsearchConnectionError(`The server at ${where} did not report a version.`);
    return { version, major: Number.parseInt(version, 10) };
  } catch (error) {
    const url = client.connectionPool.connections[0]?.url;
    if (url?.protocol === 'http:' && error instanceof errors.ConnectionError && (await speaksTls(url))) {
      return Promise.reject(
        new ElasticsearchConnectionError(
          `Cannot reach Elasticsearch at ${where}: the server speaks TLS on that port; use https:// in ES_URL`,
          { cause: error },
        ),
      );
    }
    throw explainConnectionError(error, where, { caCert: caCertOf.get(client) });
  }
}

/**
 * Whether a TLS handshake succeeds at the URL's host and port (any certificate: only the protocol
 * matters). A plain-HTTP request to a TLS port fails only as "other side closed", which could be
 * anything; this tells it apart.
 */
function speaksTls(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: url.hostname,
      port: Number(url.port || 80),
      // SNI takes a host name only (Node warns, DEP0123, when given an IP address).
      ...(isIP(url.hostname) ? {} : { servername: url.hostname }),
      rejectUnauthorized: false,
      timeout: 3000,
    });
    const done = (yes: boolean) => {
      socket.destroy();
      resolve(yes);
    };
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** Elasticsearch's own words on why it refused credentials (an expired or invalidated key, …). */
function authenticationReason(error: InstanceType<typeof errors.ResponseError>): string | undefined {
  const body = error.meta?.body as
    { error?: { reason?: string; additional_unsuccessful_credentials?: string } } | undefined;
  return body?.error?.additional_unsuccessful_credentials ?? body?.error?.reason;
}

/** Maps client errors to messages that say what to do, without secrets. */
export function explainConnectionError(
  error: unknown,
  where: string,
  context: { caCert?: string } = {},
): Error {
  if (error instanceof ElasticsearchConnectionError) return error;
  if (error instanceof errors.ProductNotSupportedError) {
    return new ElasticsearchConnectionError(
      `The server at ${where} answered${error.meta?.statusCode ? ` ${error.meta.statusCode}` : ''} and is not Elasticsearch (it did not send the X-Elastic-Product header): check ES_URL (host, port, path)`,
      { cause: error },
    );
  }
  if (error instanceof errors.ResponseError) {
    if (error.statusCode === 401) {
      const reason = authenticationReason(error);
      return new ElasticsearchConnectionError(
        `Elasticsearch at ${where} rejected the credentials (401${reason ? `: ${reason}` : ''}). Check ES_API_KEY, or ES_USERNAME and ES_PASSWORD.`,
        { cause: error },
      );
    }
    if (error.statusCode === 403) {
      return new ElasticsearchConnectionError(
        `Elasticsearch at ${where} refused the request (403): the user or API key lacks a privilege (${error.message}).`,
        { cause: error },
      );
    }
    const foreign = notElasticsearch(error);
    if (foreign !== undefined) {
      return new ElasticsearchConnectionError(
        `The server at ${where} answered ${error.statusCode}${foreign} and is not Elasticsearch: check ES_URL (host, port, path)`,
        { cause: error },
      );
    }
    return new ElasticsearchConnectionError(
      `Elasticsearch at ${where} answered ${error.statusCode}: ${error.message}`,
      { cause: error },
    );
  }
  if (error instanceof errors.ConnectionError && isTlsToPlainHttp(error.message)) {
    return new ElasticsearchConnectionError(
      `Cannot reach Elasticsearch at ${where}: the TLS handshake failed because the server answers plain HTTP on that port; use http:// in ES_URL (or enable TLS on the cluster)`,
      { cause: error },
    );
  }
  if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError) {
    const certificate = error.message.includes('self-signed') || error.message.includes('certificate');
    const detail = !certificate
      ? ''
      : context.caCert
        ? ` (TLS: the CA certificate ${context.caCert} does not verify the server's certificate: give the CA that signed it)`
        : ' (TLS: set ES_CA_CERT to the cluster CA certificate)';
    return new ElasticsearchConnectionError(
      `Cannot reach Elasticsearch at ${where}: ${error.message}${detail}`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * An answer that did not come from Elasticsearch (a web server, a proxy's error page): no
 * `X-Elastic-Product` header and a body that is not JSON. Returns a short description of the body
 * (its HTML title, if any) for the message, or undefined when the answer looks like Elasticsearch.
 * The body itself never goes into a message: it can be a whole page.
 */
function notElasticsearch(error: InstanceType<typeof errors.ResponseError>): string | undefined {
  const headers = error.meta?.headers ?? {};
  if (headers['x-elastic-product'] === 'Elasticsearch') return undefined;
  const body = error.meta?.body;
  if (typeof body !== 'string') return body === undefined || body === null ? '' : undefined;
  if (!/^\s*</.test(body)) return ' with a non-JSON body';
  const title = /<title[^>]*>([^<]{1,80})<\/title>/i.exec(body)?.[1]?.trim();
  return title ? ` with an HTML page ("${title}")` : ' with an HTML page';
}

/**
 * OpenSSL's reports of a TLS client talking to a plain-HTTP server ("wrong version number",
 * "packet length too long", "http request" records), as Node passes them through.
 */
function isTlsToPlainHttp(message: string): boolean {
  return /wrong version number|packet length too long|ssl3_get_record|EPROTO/i.test(message);
}

/** Which setting holds the credentials a client sends, for messages (never their value). */
function credentialName(options: ConnectionOptions): string {
  if (options.apiKey ?? process.env.ES_API_KEY) return 'ES_API_KEY (elasticsearch.apiKey)';
  if (options.username ?? process.env.ES_USERNAME)
    return 'ES_USERNAME and ES_PASSWORD (elasticsearch.username, elasticsearch.password)';
  return 'no credentials (set ES_API_KEY, or ES_USERNAME and ES_PASSWORD)';
}

/**
 * Asks Elasticsearch who the credentials are (`GET /_security/_authenticate`), for a long-running
 * process to check at start: rejected credentials (401) do not heal by waiting, and a process that
 * starts anyway reports itself ready while dropping or spooling everything. Throws an
 * {@link ElasticsearchConnectionError} naming the setting and passing on Elasticsearch's reason;
 * resolves with the principal's name, or undefined when the answer says nothing about the
 * credentials (a cluster without security, or none reachable now: an outage is the spool's to ride
 * out, not a reason to refuse to start).
 */
export async function checkCredentials(
  client: Client,
  options: ConnectionOptions = {},
): Promise<string | undefined> {
  const where = displayUrl(client.connectionPool.connections[0]?.url?.toString());
  try {
    const me = await client.security.authenticate();
    return me.username;
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 401) {
      const reason = authenticationReason(error);
      throw new ElasticsearchConnectionError(
        `Elasticsearch at ${where} rejected ${credentialName(options)} (401${reason ? `: ${reason}` : ''})`,
        { cause: error },
      );
    }
    if (error instanceof errors.ConnectionError && caCertOf.has(client) && /certificate/.test(error.message))
      throw explainConnectionError(error, where, { caCert: caCertOf.get(client) });
    return undefined;
  }
}
