/**
 * `npm run es:start` / `npm run es:stop`: a local Elasticsearch that outlives the command, reused by
 * `npm test`, the benchmarks and `mlmon demo` until stopped.
 */
import { LocalCluster, serverVersion, stopDetached } from './local-cluster.js';

async function main(): Promise<void> {
  const command = process.argv[2];
  if (command === 'start') {
    await stopDetached();
    const cluster = new LocalCluster({ keepData: true });
    await cluster.start({ detached: true });
    const version = await serverVersion(cluster.url);
    process.stdout.write(`Elasticsearch ${version} is running at ${cluster.url}\n`);
    process.stdout.write(`export ES_URL=${cluster.url}   # optional: tests and the demo find it anyway\n`);
    process.exit(0);
  } else if (command === 'stop') {
    const stopped = await stopDetached();
    process.stdout.write(
      stopped ? 'Elasticsearch stopped\n' : 'no Elasticsearch started by es:start is running\n',
    );
  } else {
    process.stderr.write('usage: local-cluster-cli start|stop\n');
    process.exit(2);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
