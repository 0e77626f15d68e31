import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { buildProgram, optionsFrom, redact } from '../src/cli.js';
import { ADMIN_TOKEN, apiKey, useHarness, user } from './helpers.js';

const h = useHarness();
const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/proxy/src/bin.ts');
const tsx = join(root, 'node_modules/.bin/tsx');

function parse(args: string[]) {
  return optionsFrom(buildProgram().exitOverride().parse(args, { from: 'user' }).opts(), {});
}

/** Runs the `llmemo-proxy` command from source; resolves with its URL once it prints it. */
function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(tsx, ['--conditions=@llmemo/source', bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
      const match = /listening on (http:\/\/\S+\/v1)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    exited.then(() => reject(new Error(`llmemo-proxy exited: ${stderr}`)));
  });
  // Handled here for the runs that never print a URL; awaiting `url` still rejects.
  url.catch(() => {});
  return { child, url, exited, stderr: () => stderr };
}

async function stop(child: ChildProcess, exited: Promise<number | null>) {
  child.kill('SIGTERM');
  return exited;
}

describe('llmemo-proxy command', () => {
  it('serves with flags and env vars, caches on SQLite, and exits cleanly on SIGTERM', async () => {
    const store = `sqlite://${join(tempDir(), 'proxy.sqlite')}`;
    const proxy = run(['--upstream', h.server.url, '--port', '0'], {
      LLMEMO_STORE: store,
      LLMEMO_ADMIN_TOKEN: ADMIN_TOKEN,
      LLMEMO_CACHE: 'chat',
    });
    const url = await proxy.url;
    expect(proxy.stderr()).toContain(`store ${store}`);
    expect(proxy.stderr()).toContain('admin API on');
    const ask = () =>
      fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('from the cli') }),
      });
    const key = apiKey();
    expect((await ask()).headers.get('x-cache')).toBe('MISS');
    let second = await ask();
    // The write lands off the critical path; ask until it has (bounded by the test timeout).
    while (second.headers.get('x-cache') !== 'HIT') second = await ask();
    expect((await second.json()).choices[0].message.content).toBe('Echo: from the cli');
    const stats = await fetch(`${url.replace(/\/v1$/, '')}/admin/stats`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect((await stats.json()).store).toBe('sqlite');
    // LLMEMO_CACHE=chat: embeddings are passed through.
    const embeddings = await fetch(`${url}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }),
    });
    expect(embeddings.headers.get('x-cache')).toBe('BYPASS');
    expect(await stop(proxy.child, proxy.exited)).toBe(0);
  });

  it('says what is missing or wrong, and exits non-zero', async () => {
    const missing = run([]);
    expect(await missing.exited).not.toBe(0);
    expect(missing.stderr()).toContain("required option '--upstream <url>' not specified");
    const wrong = run(['--upstream', h.server.url, '--port', '0', '--cache', 'chat,audio']);
    expect(await wrong.exited).toBe(2);
    expect(wrong.stderr()).toContain("--cache has no endpoint 'audio'");
  });
});

describe('flags to options', () => {
  it('maps every flag', () => {
    const options = parse([
      '--upstream',
      'https://api.openai.com',
      '--store',
      'redis://localhost:6379',
      '--port',
      '9000',
      '--host',
      '0.0.0.0',
      '--ttl',
      'never',
      '--cache',
      'chat,images',
      '--chat-ttl',
      '1d',
      '--image-url-ttl',
      '30m',
      '--cache-multiple-images',
      '--no-namespace-header',
      '--anonymous-namespace',
      'public',
      '--provider',
      'openai',
      '--ignore-params',
      'metadata, store',
      '--max-body-size',
      '1mb',
      '--replay',
      '25',
      '--normalize',
      'none',
      '--store-timeout',
      '500',
      '--upstream-timeout',
      '2m',
      '--no-metrics',
      '--stale-if-error',
      '1h',
    ]);
    expect(options).toMatchObject({
      upstream: 'https://api.openai.com',
      port: 9000,
      host: '0.0.0.0',
      cache: { store: 'redis://localhost:6379', ttl: null, normalize: 'none', timeoutMs: 500 },
      endpoints: {
        chat: { ttl: '1d' },
        embeddings: false,
        images: { urlTtl: '30m', cacheMultiple: true },
        models: false,
      },
      namespaceHeader: false,
      anonymousNamespace: 'public',
      provider: 'openai',
      ignoreParams: ['metadata', 'store'],
      maxBodyBytes: 1024 * 1024,
      replay: 25,
      upstreamTimeoutMs: 120_000,
      metrics: false,
      staleIfError: '1h',
    });
    expect(options.adminToken).toBeUndefined();
  });

  it('has safe defaults and takes the admin token from the environment only', () => {
    const options = optionsFrom(
      buildProgram().exitOverride().parse(['--upstream', 'http://localhost:8000/v1'], { from: 'user' }).opts(),
      { LLMEMO_ADMIN_TOKEN: ADMIN_TOKEN },
    );
    expect(options).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      cache: { store: 'memory://' },
      endpoints: { chat: {}, embeddings: {}, images: {}, models: {} },
      namespaceHeader: true,
      metrics: true,
      adminToken: ADMIN_TOKEN,
    });
  });

  it('reads every flag from its environment variable, negations included', () => {
    const env = { LLMEMO_NO_NAMESPACE_HEADER: '1', LLMEMO_NO_METRICS: '1', LLMEMO_PORT: '9999', LLMEMO_TTL: '2h' };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const options = optionsFrom(
        buildProgram().exitOverride().parse(['--upstream', 'http://x'], { from: 'user' }).opts(),
        {},
      );
      expect(options).toMatchObject({ namespaceHeader: false, metrics: false, port: 9999, cache: { ttl: '2h' } });
    } finally {
      for (const name of Object.keys(env)) if (!(name in saved)) delete process.env[name];
    }
  });

  it('redacts a password in a store URL', () => {
    expect(redact('redis://user:hunter2@cache:6379')).toBe('redis://user:***@cache:6379');
    expect(redact('rediss://:hunter2@cache:6379/0')).toBe('rediss://:***@cache:6379/0');
    expect(redact('sqlite://.llmemo/cache.sqlite')).toBe('sqlite://.llmemo/cache.sqlite');
  });
});
