import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureRedisBinary, freePort, startRedisServer, tempDir } from '@llmemo/test-support';

const run = promisify(execFile);

export interface RedisCluster {
  ports: number[];
  stop(): Promise<void>;
}

/** Three real redis-server masters joined into a Redis Cluster (no replicas), for tests. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const cli = ensureRedisBinary().replace(/redis-server$/, 'redis-cli');
  const dir = tempDir('llmemo-cluster-');
  const ports = [await freePort(), await freePort(), await freePort()];
  const nodes = await Promise.all(
    ports.map((port) =>
      startRedisServer({
        port,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', `${dir}/nodes-${port}.conf`, '--dir', dir],
      }),
    ),
  );
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.kill()));
  };
  try {
    await run(cli, [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await until(async () =>
        (await run(cli, ['-p', String(port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, stop };
}

export async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the Redis cluster did not come up in time');
}

/** Every key on every node, with `redis-cli --scan` (around llmemo and its client). */
export async function clusterKeys(ports: number[]): Promise<string[]> {
  const cli = ensureRedisBinary().replace(/redis-server$/, 'redis-cli');
  const keys: string[] = [];
  for (const port of ports) {
    const { stdout } = await run(cli, ['-p', String(port), '--scan']);
    keys.push(...stdout.split('\n').filter(Boolean));
  }
  return keys;
}
