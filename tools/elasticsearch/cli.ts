/**
 * `npm run es:start` / `npm run es:stop`: a local Elasticsearch that outlives the command, reused by
 * `npm test`, the benchmarks and `mlmon demo` until stopped.
 *
 *   npm run es:start                     one node (port 9250 when free)
 *   npm run es:start -- --nodes 3        three nodes of one cluster on free ports
 *   npm run es:start -- --name scale     a separate instance; stop it with `es:stop -- --name scale`
 *   npm run es:start -- --security       one node with security and TLS on, file-realm users holding
 *                                        the shipped roles (their passwords: <instance>/access.json)
 *   tsx tools/elasticsearch/cli.ts with -- <command…>
 *                                        runs the command with ES_URL set: ES_URL's node, one left by
 *                                        es:start, or a new one left running (`npm run demo`)
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ClusterAccess,
  ensureElasticsearch,
  LocalCluster,
  LocalMultiNodeCluster,
  serverVersion,
  stopDetached,
} from './local-cluster.js';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      nodes: { type: 'string', default: '1' },
      name: { type: 'string' },
      security: { type: 'boolean', default: false },
    },
  });
  const command = positionals[0];
  const name = values.name;
  if (command === 'start') {
    const nodes = Number(values.nodes);
    if (!Number.isInteger(nodes) || nodes < 1) throw new Error('--nodes must be a positive integer');
    await stopDetached({ name });
    let url: string;
    let urls: string[];
    let access: ClusterAccess | undefined;
    if (nodes === 1) {
      const cluster = new LocalCluster({ keepData: true, name, security: values.security });
      await cluster.start({ detached: true });
      url = cluster.url;
      urls = [url];
      access = cluster.access;
    } else {
      if (values.security) throw new Error('--security starts one node only');
      const cluster = new LocalMultiNodeCluster({ keepData: true, name: name ?? 'es', nodes });
      await cluster.start({ detached: true });
      url = cluster.url;
      urls = cluster.urls;
    }
    const version = await serverVersion(url, access);
    process.stdout.write(
      `Elasticsearch ${version} is running at ${url}${nodes > 1 ? ` (${nodes} nodes: ${urls.join(' ')})` : ''}\n`,
    );
    if (access) {
      // The administrator's credentials: tests need them; give mlmon commands a role user's instead.
      process.stdout.write(
        `export ES_URL=${url} ES_CA_CERT=${access.caCert} ES_USERNAME=${access.username} ES_PASSWORD=${access.password}\n`,
      );
      process.stdout.write(
        `# users holding the shipped roles: ${Object.keys(access.roleUsers).join(', ')}; passwords in ${resolve(dirname(access.caCert), '..', 'access.json')}\n`,
      );
    } else {
      process.stdout.write(`export ES_URL=${url}   # optional: tests and the demo find it anyway\n`);
    }
    process.exit(0);
  } else if (command === 'stop') {
    const stopped = await stopDetached({ name });
    process.stdout.write(
      stopped ? 'Elasticsearch stopped\n' : 'no Elasticsearch started by es:start is running\n',
    );
  } else if (command === 'with') {
    const [program, ...args] = positionals.slice(1);
    if (!program) throw new Error('usage: tools/elasticsearch/cli.ts with -- <command> [args…]');
    const cluster = await ensureElasticsearch({ persist: true, security: values.security });
    if (cluster.started)
      process.stderr.write(
        `[mlmon es] Elasticsearch ${cluster.version} left running at ${cluster.url}; npm run es:stop stops it\n`,
      );
    const env: NodeJS.ProcessEnv = { ...process.env, ES_URL: cluster.url };
    if (cluster.access) {
      env.ES_CA_CERT = cluster.access.caCert;
      env.ES_USERNAME = cluster.access.username;
      env.ES_PASSWORD = cluster.access.password;
    }
    const ran = spawnSync(program, args, { stdio: 'inherit', env });
    if (ran.error) throw ran.error;
    process.exit(ran.status ?? 1);
  } else {
    process.stderr.write(
      'usage: tools/elasticsearch/cli.ts start|stop|with [--nodes N] [--name NAME] [--security]\n',
    );
    process.exit(2);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
