/**
 * A real, local Elasticsearch for tests, benchmarks and the demo (`npm run demo`, `npm run
 * es:start`): test and development tooling, outside the published src/ layers.
 *
 * Elastic publishes its integration-test distribution on Maven Central
 * (`org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>`, a zip without a bundled
 * JDK). We fetch it with `mvn dependency:copy`, unpack it once into a cache outside the repository,
 * and run it on 127.0.0.1 with single-node discovery, security off and a small heap. Elasticsearch
 * refuses to run as root, so when we are root it runs as the unprivileged system user `mlmon-es`.
 *
 * With `security: true` the node is what users run instead (secured.ts: TLS, file-realm users
 * holding the shipped roles, API keys).
 *
 * Length: over 450 lines on purpose: one node and several share the distribution, JDK, port and
 * process-group helpers, which are private to this file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  cpSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { jdkMajor, run } from './exec.js';
import { type ClusterAccess, ensureAccess, homeWithAnalysisPlugin, writeSecurityConfig } from './secured.js';

export type { ClusterAccess } from './secured.js';

/** The newest 9.x integ-test-zip on Maven Central when this was pinned. */
export const DEFAULT_ES_VERSION = '9.5.3';
/** The 8.x line we test against too (`ES_VERSION=8.19.21 npm test`). */
export const ES_8_VERSION = '8.19.21';

export interface LocalClusterOptions {
  /** Elasticsearch version to run; default `ES_VERSION` or {@link DEFAULT_ES_VERSION}. */
  version?: string;
  /** HTTP port; default `MLMON_ES_PORT`, else 9250, else any free port. */
  port?: number;
  /** JVM heap, e.g. `1g`; default `MLMON_ES_HEAP` or `1g`. */
  heap?: string;
  /** Where distributions and instances are kept; default `MLMON_CACHE_DIR`. */
  cacheDir?: string;
  /** Instance name: separate data, config and logs per name (a test may run a cluster of its own). */
  name?: string;
  /** Keep the data directory from an earlier run of the same instance (default false: start empty). */
  keepData?: boolean;
  /** Progress messages; default stderr. */
  log?: (message: string) => void;
  /**
   * `ensureElasticsearch` only: start a new instance detached and leave it running after this
   * process exits (as `npm run es:start` does), so a demo's data can be looked at afterwards.
   */
  persist?: boolean;
  /** Membership of a node of a multi-node cluster (set by {@link LocalMultiNodeCluster}); default a single-node cluster. */
  member?: ClusterMember;
  /**
   * A secured node (single node only): security on, TLS on HTTP, file-realm users holding the
   * shipped roles; the URL is https:// and {@link LocalCluster.access} says how to connect.
   */
  security?: boolean;
}

/** How one node of a multi-node cluster on 127.0.0.1 finds the others. */
export interface ClusterMember {
  clusterName: string;
  nodeName: string;
  transportPort: number;
  /** `host:port` of every node's transport. */
  seedHosts: string[];
  /** Node names that vote in the first election (every node of a new cluster). */
  initialMasterNodes: string[];
}

export interface RunningCluster {
  url: string;
  version: string;
  /** True when this call started the process (and so should stop it). */
  started: boolean;
  pid?: number;
  /** Set for a secured node: the CA and the users to connect with. */
  access?: ClusterAccess;
  stop(): Promise<void>;
}

interface StateFile {
  pid: number;
  url: string;
  version: string;
  instanceDir: string;
  access?: ClusterAccess;
  /** Every node of a multi-node cluster started by `npm run es:start -- --nodes N` (the first is pid/url). */
  nodes?: Array<{ pid: number; url: string }>;
}

const ES_USER = 'mlmon-es';

export function defaultCacheDir(): string {
  if (process.env.MLMON_CACHE_DIR) return process.env.MLMON_CACHE_DIR;
  // Root's home is usually mode 700, which the unprivileged Elasticsearch user cannot traverse.
  if (process.getuid?.() === 0) return '/var/cache/mlmon';
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mlmon');
}

function majorOf(version: string): number {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  if (!Number.isFinite(major)) throw new Error(`ES_VERSION "${version}" is not a version number like 9.5.3`);
  return major;
}

/**
 * Picks a JDK for the Elasticsearch major: 9.x needs Java >= 21, 8.x runs on 17 or later.
 * `ES_JAVA_HOME` wins when it is set.
 */
export function findJdk(esVersion: string): string {
  if (process.env.ES_JAVA_HOME) return process.env.ES_JAVA_HOME;
  const needed = majorOf(esVersion) >= 9 ? 21 : 17;
  const roots = ['/usr/lib/jvm', '/opt/java', '/usr/local/lib/jvm'];
  const candidates: Array<{ home: string; major: number }> = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root)) {
      const home = join(root, entry);
      const major = jdkMajor(home);
      if (major !== undefined && major >= needed) candidates.push({ home, major });
    }
  }
  if (process.env.JAVA_HOME) {
    const major = jdkMajor(process.env.JAVA_HOME);
    if (major !== undefined && major >= needed) candidates.push({ home: process.env.JAVA_HOME, major });
  }
  // Prefer the oldest JDK that qualifies: it is the one Elastic tested that line with longest.
  candidates.sort((a, b) => a.major - b.major);
  const chosen = candidates[0];
  if (!chosen) {
    throw new Error(
      `Elasticsearch ${esVersion} needs a JDK >= ${needed}; none found under ${roots.join(', ')}. ` +
        'Install one or set ES_JAVA_HOME.',
    );
  }
  return chosen.home;
}

/** Downloads (once) and unpacks (once) the integ-test distribution; returns its home directory. */
export function ensureDistribution(version: string, cacheDir: string, log: (m: string) => void): string {
  const home = join(cacheDir, `elasticsearch-${version}`);
  if (existsSync(join(home, 'bin', 'elasticsearch'))) return home;
  const distDir = join(cacheDir, 'dist');
  mkdirSync(distDir, { recursive: true });
  const zip = join(distDir, `elasticsearch-${version}.zip`);
  if (!existsSync(zip)) {
    log(`fetching org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version} from Maven Central`);
    run(
      'mvn',
      [
        '-q',
        '-B',
        'dependency:copy',
        `-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version}:zip`,
        `-DoutputDirectory=${distDir}`,
      ],
      'mvn dependency:copy',
    );
  }
  log(`unpacking ${zip}`);
  const staging = `${home}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  run('unzip', ['-q', zip, '-d', staging], 'unzip');
  // The zip holds one top-level folder, elasticsearch-<version>; move it into place atomically.
  const inner = join(staging, `elasticsearch-${version}`);
  run('mv', [inner, home], 'moving the unpacked distribution');
  rmSync(staging, { recursive: true, force: true });
  return home;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the kernel hands out as free (an ephemeral one, so never 9250 or 9300). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** What a request to a secured node carries: the CA to verify it with, and basic credentials or an API key. */
export interface HttpAccess {
  caCert?: string;
  username?: string;
  password?: string;
  apiKey?: string;
}

/** The access `ES_CA_CERT`, `ES_API_KEY` or `ES_USERNAME`/`ES_PASSWORD` describe (for an `ES_URL` cluster). */
export function accessFromEnv(): HttpAccess {
  return {
    caCert: process.env.ES_CA_CERT,
    apiKey: process.env.ES_API_KEY,
    username: process.env.ES_USERNAME,
    password: process.env.ES_PASSWORD,
  };
}

/**
 * GET a path; resolves with the status and body, or undefined when nothing answers. node:http(s)
 * rather than fetch: Node's fetch takes no CA certificate without undici's own Agent.
 */
export async function httpGet(
  url: string,
  timeoutMs = 2000,
  access: HttpAccess = {},
): Promise<{ status: number; body: string } | undefined> {
  const headers: Record<string, string> = {};
  if (access.apiKey) headers.authorization = `ApiKey ${access.apiKey}`;
  else if (access.username)
    headers.authorization = `Basic ${Buffer.from(`${access.username}:${access.password ?? ''}`).toString('base64')}`;
  let ca: string | undefined;
  try {
    ca = access.caCert ? readFileSync(access.caCert, 'utf8') : undefined;
  } catch {
    return undefined;
  }
  return new Promise((resolve) => {
    const secure = url.startsWith('https:');
    const request = (secure ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', headers, timeout: timeoutMs, ...(secure && ca ? { ca } : {}) },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', () => resolve(undefined));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
    request.end();
  });
}

/**
 * The server's version. The integ-test distribution has no `GET /` handler (it lives in a module),
 * so ask the nodes info API, which every distribution has.
 */
export async function serverVersion(url: string, access: HttpAccess = {}): Promise<string | undefined> {
  const nodes = await httpGet(`${url}/_nodes/_local?filter_path=nodes.*.version`, 2000, access);
  if (nodes?.status === 200) {
    const parsed = JSON.parse(nodes.body) as { nodes?: Record<string, { version?: string }> };
    const first = Object.values(parsed.nodes ?? {})[0];
    if (first?.version) return first.version;
  }
  const root = await httpGet(`${url}/`, 2000, access);
  if (root?.status === 200)
    return (JSON.parse(root.body) as { version?: { number?: string } }).version?.number;
  return undefined;
}

async function waitForHealthy(
  url: string,
  child: ChildProcess | undefined,
  logFile: string,
  timeoutMs: number,
  nodes = 1,
  access: HttpAccess = {},
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(
        `Elasticsearch exited with code ${child.exitCode} during start; see ${logFile}:\n${tail(logFile)}`,
      );
    }
    const health = await httpGet(
      `${url}/_cluster/health?wait_for_status=yellow&wait_for_nodes=>=${nodes}&timeout=1s`,
      2000,
      access,
    );
    if (health?.status === 200) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `Elasticsearch did not become healthy within ${timeoutMs / 1000}s; see ${logFile}:\n${tail(logFile)}`,
  );
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function ensureUnprivilegedUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const exists = spawnSync('id', ['-u', ES_USER]).status === 0;
  if (!exists)
    run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ES_USER], 'useradd');
  return ES_USER;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopProcessGroup(
  pid: number,
  timeoutMs = 60_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  try {
    process.kill(-pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/**
 * The directory name of an instance: its name and version, so that data written by one version is
 * never opened by another (9.x data cannot be read by 8.x) even when a test reuses a name.
 */
function instanceKey(name: string | undefined, version: string): string {
  return `${name ?? 'es'}-${version}`;
}

function stateFile(cacheDir: string, name: string): string {
  return join(cacheDir, 'instances', name, 'state.json');
}

function readState(cacheDir: string, name: string): StateFile | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(cacheDir, name), 'utf8')) as StateFile;
  } catch {
    return undefined;
  }
}

/**
 * A handle on one local Elasticsearch instance: start, stop, start again on the same port and data
 * (the outage tests need that), all as one object.
 */
export class LocalCluster {
  readonly version: string;
  readonly name: string;
  readonly cacheDir: string;
  readonly heap: string;
  private readonly log: (m: string) => void;
  private port: number | undefined;
  private child: ChildProcess | undefined;
  private keepData: boolean;
  private readonly member: ClusterMember | undefined;
  readonly security: boolean;
  private accessInfo: ClusterAccess | undefined;

  constructor(options: LocalClusterOptions = {}) {
    this.version = options.version ?? process.env.ES_VERSION ?? DEFAULT_ES_VERSION;
    this.name = instanceKey(options.name, this.version);
    this.cacheDir = options.cacheDir ?? defaultCacheDir();
    this.heap = options.heap ?? process.env.MLMON_ES_HEAP ?? '1g';
    this.port = options.port ?? (process.env.MLMON_ES_PORT ? Number(process.env.MLMON_ES_PORT) : undefined);
    this.keepData = options.keepData ?? false;
    this.member = options.member;
    this.security = options.security ?? false;
    if (this.security && this.member) throw new Error('security: a single node only');
    this.log = options.log ?? ((m) => process.stderr.write(`[mlmon es] ${m}\n`));
  }

  get instanceDir(): string {
    return join(this.cacheDir, 'instances', this.name);
  }

  get url(): string {
    if (this.port === undefined) throw new Error('cluster not started');
    return `${this.security ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** The CA and users of a secured node (after start); undefined for a plain one. */
  get access(): ClusterAccess | undefined {
    return this.accessInfo;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Starts the process and waits until the cluster answers with status yellow or green (and, for a
   * node of a multi-node cluster, until the cluster has `nodes` nodes; default 1).
   */
  async start(options: { detached?: boolean; timeoutMs?: number; nodes?: number } = {}): Promise<void> {
    const home = ensureDistribution(this.version, this.cacheDir, this.log);
    const javaHome = findJdk(this.version);
    if (this.port === undefined) this.port = (await portIsFree(9250)) ? 9250 : await freePort();
    else if (!(await portIsFree(this.port)))
      throw new Error(`port ${this.port} is in use; set MLMON_ES_PORT to another`);

    const instance = this.instanceDir;
    const config = join(instance, 'config');
    const data = join(instance, 'data');
    const logs = join(instance, 'logs');
    if (!this.keepData) rmSync(data, { recursive: true, force: true });
    rmSync(config, { recursive: true, force: true });
    mkdirSync(logs, { recursive: true });
    mkdirSync(data, { recursive: true });
    cpSync(join(home, 'config'), config, { recursive: true });
    if (this.security) this.accessInfo = ensureAccess(instance);
    const securityLines = this.accessInfo
      ? writeSecurityConfig(config, instance, this.accessInfo)
      : // Local test cluster: no TLS, no users (`security: true` for a node like a user's).
        ['xpack.security.enabled: false'];
    writeFileSync(
      join(config, 'elasticsearch.yml'),
      [
        ...(this.member
          ? [
              `cluster.name: ${this.member.clusterName}`,
              `node.name: ${this.member.nodeName}`,
              `discovery.seed_hosts: ${JSON.stringify(this.member.seedHosts)}`,
              // Read only when a node with no cluster state starts; a restarted node rejoins from its data.
              `cluster.initial_master_nodes: ${JSON.stringify(this.member.initialMasterNodes)}`,
              `transport.port: ${this.member.transportPort}`,
            ]
          : [`cluster.name: mlmon-${this.name}`, 'node.name: mlmon-local', 'discovery.type: single-node']),
        'network.host: 127.0.0.1',
        `http.port: ${this.port}`,
        ...(this.member ? [] : ['transport.port: 0']),
        `path.data: ${data}`,
        `path.logs: ${logs}`,
        ...securityLines,
        // A nearly full developer disk must not make indices read-only mid-test.
        'cluster.routing.allocation.disk.threshold_enabled: false',
        'action.destructive_requires_name: false',
        '',
      ].join('\n'),
    );
    const runHome = this.security ? homeWithAnalysisPlugin(home, instance, this.version, javaHome) : home;
    const user = ensureUnprivilegedUser();
    if (user) run('chown', ['-R', user, instance], 'chown of the instance directory');

    const logFile = join(instance, 'stdout.log');
    const out = openSync(logFile, 'a');
    const env = {
      ES_JAVA_HOME: javaHome,
      ES_PATH_CONF: config,
      ES_JAVA_OPTS: `-Xms${this.heap} -Xmx${this.heap}`,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: instance,
    };
    const bin = join(runHome, 'bin', 'elasticsearch');
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const [command, args] = user
      ? ['runuser', ['-u', user, '--', 'env', '-i', ...envArgs, bin]]
      : ['env', ['-i', ...envArgs, bin]];
    this.log(
      `starting Elasticsearch ${this.version}${this.member ? ` node ${this.member.nodeName}` : ''} on ${this.url} (JDK ${javaHome}, heap ${this.heap})`,
    );
    // detached: its own process group, so stop() can signal the launcher and the server JVM together.
    this.child = spawn(command as string, args as string[], { detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    if (options.detached) this.child.unref();
    try {
      await waitForHealthy(
        this.url,
        this.child,
        logFile,
        options.timeoutMs ?? 180_000,
        options.nodes,
        this.accessInfo,
      );
    } catch (error) {
      await this.stop();
      throw error;
    }
    writeFileSync(
      stateFile(this.cacheDir, this.name),
      JSON.stringify({
        pid: this.child.pid ?? -1,
        url: this.url,
        version: this.version,
        instanceDir: instance,
        ...(this.accessInfo ? { access: this.accessInfo } : {}),
      } satisfies StateFile),
    );
    // Later starts of the same handle (after an outage) must find the data they left.
    this.keepData = true;
  }

  /** Stops the process group and waits for it to exit. */
  async stop(): Promise<void> {
    const pid = this.child?.pid;
    if (pid !== undefined) await stopProcessGroup(pid);
    this.child = undefined;
    rmSync(stateFile(this.cacheDir, this.name), { force: true });
  }

  /**
   * Kills the process group with SIGKILL (a crash: no shutdown, no flush) and waits until it is
   * gone. `start()` afterwards brings the node back on the same ports and data.
   */
  async kill(): Promise<void> {
    const pid = this.child?.pid;
    if (pid !== undefined) await stopProcessGroup(pid, 30_000, 'SIGKILL');
    this.child = undefined;
    rmSync(stateFile(this.cacheDir, this.name), { force: true });
  }
}

export interface MultiNodeClusterOptions extends Omit<LocalClusterOptions, 'port' | 'member' | 'persist'> {
  /** Number of nodes, every one master-eligible and holding data; default 3. */
  nodes?: number;
}

/**
 * N nodes of one cluster on 127.0.0.1, each its own process, ports and data directory, all from the
 * same distribution. Ports are free ports picked by the kernel (ephemeral ones), so the cluster
 * never collides with an instance on 9250/9300. Heap per node: `heap`, else `MLMON_ES_HEAP`, else
 * 512m (three nodes and the usual single instance fit a 2-core, 24 GiB machine).
 */
export class LocalMultiNodeCluster {
  readonly version: string;
  readonly name: string;
  readonly cacheDir: string;
  readonly nodes: LocalCluster[] = [];
  private readonly options: MultiNodeClusterOptions;
  private readonly count: number;

  constructor(options: MultiNodeClusterOptions = {}) {
    this.options = options;
    this.count = options.nodes ?? 3;
    if (!Number.isInteger(this.count) || this.count < 1) throw new Error('nodes must be a positive integer');
    this.version = options.version ?? process.env.ES_VERSION ?? DEFAULT_ES_VERSION;
    this.name = options.name ?? 'cluster';
    this.cacheDir = options.cacheDir ?? defaultCacheDir();
  }

  /** The HTTP address of every node, in node order. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** The first node's HTTP address (any node answers for the whole cluster). */
  get url(): string {
    const first = this.nodes[0];
    if (!first) throw new Error('cluster not started');
    return first.url;
  }

  get instanceDir(): string {
    return join(this.cacheDir, 'instances', instanceKey(this.name, this.version));
  }

  /**
   * Starts every node at once (a new cluster elects its first master only once a majority of
   * `cluster.initial_master_nodes` is up) and waits until the cluster has all of them and is
   * yellow or green. On any failure every node is stopped before the error is thrown.
   */
  async start(options: { detached?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.nodes.length === 0) {
      const ports = await distinctFreePorts(2 * this.count);
      const nodeNames = Array.from({ length: this.count }, (_, i) => `node-${i}`);
      const seedHosts = ports.slice(this.count).map((p) => `127.0.0.1:${p}`);
      for (let i = 0; i < this.count; i++) {
        this.nodes.push(
          new LocalCluster({
            ...this.options,
            version: this.version,
            cacheDir: this.cacheDir,
            heap: this.options.heap ?? process.env.MLMON_ES_HEAP ?? '512m',
            name: `${this.name}-${nodeNames[i]}`,
            port: ports[i],
            member: {
              clusterName: `mlmon-${this.name}`,
              nodeName: nodeNames[i] as string,
              transportPort: ports[this.count + i] as number,
              seedHosts,
              initialMasterNodes: nodeNames,
            },
          }),
        );
      }
    }
    // Several JVMs booting at once on a small shared machine take minutes: a longer default wait.
    const timeoutMs = options.timeoutMs ?? 600_000;
    const started = await Promise.allSettled(
      this.nodes.map((node) => node.start({ ...options, timeoutMs, nodes: this.count })),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.stop();
      throw failed.reason;
    }
    mkdirSync(this.instanceDir, { recursive: true });
    writeFileSync(
      join(this.instanceDir, 'state.json'),
      JSON.stringify({
        pid: this.nodes[0]?.pid ?? -1,
        url: this.url,
        version: this.version,
        instanceDir: this.instanceDir,
        nodes: this.nodes.map((n) => ({ pid: n.pid ?? -1, url: n.url })),
      } satisfies StateFile),
    );
  }

  /** Stops every node (each waited for; one that fails to stop does not keep the others running). */
  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((node) => node.stop()));
    rmSync(join(this.instanceDir, 'state.json'), { force: true });
  }

  /** Kills node `i` with SIGKILL (see {@link LocalCluster.kill}). */
  async killNode(i: number): Promise<void> {
    await this.node(i).kill();
  }

  /** Starts node `i` again on its ports and data; resolves when the cluster has all its nodes again. */
  async startNode(i: number, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.node(i).start({ timeoutMs: options.timeoutMs ?? 600_000, nodes: this.count });
  }

  /** Deletes every node's directory (data, config, logs); call after `stop()`. */
  removeData(): void {
    for (const node of this.nodes) rmSync(node.instanceDir, { recursive: true, force: true });
    rmSync(this.instanceDir, { recursive: true, force: true });
  }

  private node(i: number): LocalCluster {
    const node = this.nodes[i];
    if (!node) throw new Error(`no node ${i} (the cluster has ${this.nodes.length})`);
    return node;
  }
}

/** `n` different free ports (asked one at a time, the kernel could hand out one twice). */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * The cluster tests, benchmarks and the demo use: `ES_URL` when set (it must answer), else one left
 * running by `npm run es:start`, else a new local instance that the caller must stop.
 */
export async function ensureElasticsearch(options: LocalClusterOptions = {}): Promise<RunningCluster> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[mlmon es] ${m}\n`));
  const external = process.env.ES_URL;
  if (external) {
    const url = external.replace(/\/$/, '');
    const access = accessFromEnv();
    const health = await httpGet(`${url}/_cluster/health`, 2000, access);
    if (!health) throw new Error(`ES_URL is set but nothing answers at ${redactUrl(external)}`);
    const version = (await serverVersion(url, access)) ?? 'unknown';
    return { url: external, version, started: false, stop: async () => {} };
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const version = options.version ?? process.env.ES_VERSION ?? DEFAULT_ES_VERSION;
  const state = readState(cacheDir, instanceKey(options.name, version));
  const secured = options.security ?? false;
  if (state && state.version === version && pidAlive(state.pid) && secured === (state.access !== undefined)) {
    const running = await serverVersion(state.url, state.access);
    if (running) {
      log(`reusing Elasticsearch ${running} at ${state.url} (started by npm run es:start)`);
      return {
        url: state.url,
        version: running,
        started: false,
        ...(state.access ? { access: state.access } : {}),
        stop: async () => {},
      };
    }
  }
  // Only a cluster meant to outlive this process (es:start, the demo) takes the shared instance
  // name that others look up and reuse. A test run's cluster gets a private one: another run on the
  // same machine must neither reuse it (it stops when its run ends) nor start in its data directory.
  const name = options.persist || options.name ? options.name : `run-${process.pid}`;
  const cluster = new LocalCluster({ ...options, name, version, log });
  await cluster.start({ detached: options.persist ?? false });
  const running = (await serverVersion(cluster.url, cluster.access)) ?? cluster.version;
  const stop = async () => {
    await cluster.stop();
    if (name?.startsWith('run-')) rmSync(cluster.instanceDir, { recursive: true, force: true });
  };
  return {
    url: cluster.url,
    version: running,
    started: true,
    pid: cluster.pid,
    ...(cluster.access ? { access: cluster.access } : {}),
    stop,
  };
}

/** Stops an instance started by `npm run es:start` (found through its state file). */
export async function stopDetached(options: { cacheDir?: string; name?: string } = {}): Promise<boolean> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const name = instanceKey(options.name, process.env.ES_VERSION ?? DEFAULT_ES_VERSION);
  const state = readState(cacheDir, name);
  if (!state) return false;
  const pids = state.nodes?.map((n) => n.pid) ?? [state.pid];
  await Promise.all(pids.filter(pidAlive).map((pid) => stopProcessGroup(pid)));
  rmSync(stateFile(cacheDir, name), { force: true });
  return true;
}

/** Removes user info from a URL so it can be printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = '***';
      parsed.password = '';
    }
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '<invalid URL>';
  }
}
