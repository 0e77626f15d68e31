import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * A real redis-server process on a free loopback port, for tests. Started and stopped by the test run itself;
 * installs Debian's redis-server first when it is missing and we are root (as CI is).
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the abrupt failure an app sees when Redis dies. */
  kill(): Promise<void>;
  /** Graceful shutdown. */
  stop(): Promise<void>;
  /** Starts a fresh process on the same port (empty: persistence is off). */
  restart(): Promise<void>;
  readonly running: boolean;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'];

function findBinary(): string | undefined {
  for (const candidate of CANDIDATES) if (existsSync(candidate)) return candidate;
  try {
    const found = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    return found || undefined;
  } catch {
    return undefined;
  }
}

const HOW_TO_FIX =
  "Install it with 'apt-get install -y redis-server' (Debian/Ubuntu) or 'brew install redis', or point the tests at a running server with LLMEMO_REDIS_URL=redis://127.0.0.1:6379 (the kill/restart tests still need the binary).";

/** The path of redis-server, installing Debian's package when missing and running as root. Throws with a fix otherwise. */
export function ensureRedisBinary(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): string {
  const found = findBinary();
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`The tests need a real redis-server and none is installed. ${HOW_TO_FIX}`);
  }
  log('llmemo tests: redis-server is missing; installing Debian package redis-server (apt-get, about 30 s)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], { env, stdio: 'ignore' });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
    install();
  }
  const installed = findBinary();
  if (!installed) throw new Error(`Installing redis-server did not produce a binary. ${HOW_TO_FIX}`);
  log(`llmemo tests: installed ${installed}.`);
  return installed;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function launch(binary: string, port: number, extra: readonly string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        '--loglevel',
        'warning',
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start on port ${port} within 10 s: ${output.slice(-500)}`));
    }, 10_000);
    const probe = setInterval(() => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.end();
        clearInterval(probe);
        clearTimeout(timer);
        resolve(child);
      });
      socket.once('error', () => socket.destroy());
    }, 25);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code) => {
      clearInterval(probe);
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}: ${output.slice(-500)}`));
    });
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** `args`: more redis-server arguments, e.g. `['--cluster-enabled', 'yes', …]` for a cluster node. */
export async function startRedisServer(
  options: { port?: number; args?: readonly string[] } = {},
): Promise<RedisServer> {
  const extra = options.args ?? [];
  const binary = ensureRedisBinary();
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined = await launch(binary, port, extra);
  child.removeAllListeners('exit');
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined;
    },
    async kill() {
      if (!child) return;
      const current = child;
      child = undefined;
      current.kill('SIGKILL');
      await waitForExit(current);
    },
    async stop() {
      if (!child) return;
      const current = child;
      child = undefined;
      current.kill('SIGTERM');
      await waitForExit(current);
    },
    async restart() {
      await server.kill();
      child = await launch(binary, port, extra);
      child.removeAllListeners('exit');
    },
  };
  return server;
}
