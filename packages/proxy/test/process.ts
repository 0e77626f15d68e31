import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/proxy/src/bin.ts');
const builtBin = join(root, 'packages/proxy/dist/bin.js');

/** `llmemo-proxy` running as its own process (from source), as an operator would run it. */
export interface ProxyProcess {
  readonly child: ChildProcess;
  /** Base URL with /v1. */
  readonly url: string;
  /** Origin without /v1. */
  readonly origin: string;
  /** What it printed on stderr so far (the startup line). */
  stderr(): string;
  /** Its stdout lines so far (the JSON log lines). */
  lines(): string[];
  /** Its stdout lines parsed as JSON (lines that are not JSON are left out). */
  logs(): Record<string, unknown>[];
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  /** The official client pointed at it. */
  client(apiKey: string, options?: ConstructorParameters<typeof OpenAI>[0]): OpenAI;
  stop(): Promise<number | null>;
}

const running: ProxyProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.stop()));
});

/**
 * Starts `llmemo-proxy <args>` in one Node process (node --import tsx, so /proc shows the proxy's own memory) and
 * resolves once it prints its URL; stopped after the test.
 */
export async function startProcess(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  { built = false }: { built?: boolean } = {},
): Promise<ProxyProcess> {
  if (built && !existsSync(builtBin))
    throw new Error(`${builtBin} is missing: run \`pnpm --filter @llmemo/proxy build\`.`);
  // The built binary as it ships (dist/bin.js), or the source through tsx.
  const entry = built ? [builtBin] : ['--import', 'tsx', '--conditions=@llmemo/source', bin];
  const command = [...nodeArgs, ...entry, '--port', '0', ...args];
  const child = spawn(process.execPath, command, {
    cwd: root,
    env: { ...process.env, LLMEMO_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (data: Buffer) => {
    stdout += data.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (data: Buffer) => {
      stderr += data.toString();
      const match = /listening on (http:\/\/\S+\/v1)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    exited.then(() => reject(new Error(`llmemo-proxy exited before listening: ${stderr}${stdout}`)));
  });
  let stopped: Promise<number | null> | undefined;
  const proxy: ProxyProcess = {
    child,
    url,
    origin: url.replace(/\/v1$/, ''),
    stderr: () => stderr,
    lines: () => stdout.split('\n').filter((line) => line !== ''),
    logs() {
      const out: Record<string, unknown>[] = [];
      for (const line of proxy.lines()) {
        try {
          out.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a JSON line
        }
      }
      return out;
    },
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      if (!kb) throw new Error('no VmRSS in /proc status');
      return Number(kb[1]) * 1024;
    },
    client: (apiKey, options = {}) => new OpenAI({ baseURL: url, apiKey, maxRetries: 0, ...options }),
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        return exited;
      })();
      return stopped;
    },
  };
  running.push(proxy);
  return proxy;
}

/** Resolves once `predicate` holds, polling (bounded by the test timeout). */
export async function eventually(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
