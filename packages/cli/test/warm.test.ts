// `llmemo warm` end to end: the built CLI sends a JSON-lines file through the built llmemo-proxy, which sits in front
// of the local OpenAI-compatible server. Upstream request counts prove what was filled, and that a dry run and a
// re-run send nothing upstream twice.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@llmemo/test-support';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { llmemo, oneLine, requireBuiltCli } from './helpers.js';

const proxyBin = fileURLToPath(new URL('../../proxy/dist/bin.js', import.meta.url));
requireBuiltCli();

let server: OpenAITestServer;
let proxy: { child: ChildProcess; url: string } | undefined;
beforeAll(async () => {
  if (!existsSync(proxyBin)) throw new Error(`${proxyBin} is missing: run \`pnpm --filter @llmemo/proxy build\`.`);
  server = await createOpenAITestServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());
afterEach(() => {
  proxy?.child.kill('SIGTERM');
  proxy = undefined;
});

/** The built llmemo-proxy in front of the test server, on a fresh SQLite file. */
async function startProxy(): Promise<string> {
  const store = `sqlite://${join(tempDir(), 'proxy.sqlite')}`;
  // A generous store timeout: on a loaded machine a SQLite read past the default 100 ms would be a miss.
  const args = ['--upstream', server.url, '--store', store, '--port', '0', '--store-timeout', '5000'];
  const child = spawn(process.execPath, [proxyBin, ...args], {
    env: { PATH: process.env.PATH ?? '', LLMEMO_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (data: Buffer) => {
      stderr += data.toString();
      const match = /listening on (http:\/\/\S+\/v1)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error(`llmemo-proxy exited: ${stderr}`)));
  });
  proxy = { child, url };
  return url;
}

const chat = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: text }],
  ...extra,
});

function requestsFile(lines: unknown[]): string {
  const file = join(tempDir(), 'requests.jsonl');
  writeFileSync(file, `${lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n')}\n`);
  return file;
}

const LINES = [
  chat('warm one'),
  chat('warm two', { temperature: 0 }),
  chat('warm streamed', { stream: true }),
  { custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: chat('warm batch form') },
  { model: 'text-embedding-3-small', input: ['warm embeddings'] },
];

const upstream = () => server.count('/v1/chat/completions') + server.count('/v1/embeddings');

describe('llmemo warm', () => {
  it('fills what is missing through the proxy, in the key’s namespace; a re-run and a dry run send nothing twice', async () => {
    const url = await startProxy();
    const key = `sk-warm-${randomUUID()}`;
    const env = { OPENAI_API_KEY: key };
    const file = requestsFile(LINES);

    const first = await llmemo(['warm', file, '--proxy', url, '--concurrency', '2'], { env });
    expect(first.stderr).toContain('5 requests: 0 already cached, 5 filled, 0 failed.');
    expect(first.code).toBe(0);
    expect(upstream()).toBe(5);

    const dry = await llmemo(['warm', file, '--proxy', url, '--dry-run', '--json'], { env });
    expect(JSON.parse(dry.stdout)).toEqual({ requests: 5, cached: 5, missing: 0, failed: 0, failures: [] });
    expect(upstream()).toBe(5);

    // Two more lines: the dry run counts them missing without calling anyone; the re-run fills only those.
    const more = requestsFile([...LINES, chat('warm three'), chat('warm four')]);
    const dryMore = await llmemo(['warm', more, '--proxy', url.replace(/\/v1$/, ''), '--dry-run'], { env });
    expect(dryMore.stderr).toContain('7 requests: 5 already cached, 2 missing, 0 failed (dry run');
    expect(upstream()).toBe(5);
    const again = await llmemo(['warm', more, '--proxy', url, '--api-key', key], { env: {} });
    expect(again.stderr).toContain('7 requests: 5 already cached, 2 filled, 0 failed.');
    expect(upstream()).toBe(7);

    // The app, with the same key, hits; another key does not see the entries.
    const ask = (apiKey: string) =>
      fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(chat('warm one')),
      });
    expect((await ask(key)).headers.get('x-cache')).toBe('HIT');
    const other = await llmemo(['warm', file, '--proxy', url, '--dry-run', '--json'], {
      env: { OPENAI_API_KEY: `sk-other-${randomUUID()}` },
    });
    expect(JSON.parse(other.stdout)).toMatchObject({ cached: 0, missing: 5 });
    expect(upstream()).toBe(7);
  });

  it('reports the requests that failed, by line, with the upstream’s message, and exits 1', async () => {
    const url = await startProxy();
    server.script((request) =>
      request.lastUserText === 'refused'
        ? { status: 400, error: { message: 'This model does not exist.', code: 'model_not_found' } }
        : { text: 'fine' },
    );
    const file = requestsFile([chat('accepted'), chat('refused')]);
    const result = await llmemo(['warm', file, '--proxy', url], { env: { OPENAI_API_KEY: 'sk-failing' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('2 requests: 0 already cached, 1 filled, 1 failed.');
    expect(result.stderr).toContain('line 2: HTTP 400: This model does not exist.');
    expect(result.stderr).toMatch(/llmemo: 1 request failed; fix what the lines above say and run warm again/);
  });

  it('says what to do when the key, the proxy or the file is wrong', async () => {
    const file = requestsFile([chat('x')]);
    const noKey = await llmemo(['warm', file, '--proxy', 'http://127.0.0.1:9/v1']);
    expect(noKey.code).toBe(2);
    expect(oneLine(noKey)).toMatch(/set OPENAI_API_KEY or pass --api-key/);
    const noProxy = await llmemo(['warm', file, '--proxy', 'http://127.0.0.1:9/v1'], { env: { OPENAI_API_KEY: 'k' } });
    expect(noProxy.code).toBe(1);
    expect(oneLine(noProxy)).toMatch(/cannot reach the proxy at http:\/\/127\.0\.0\.1:9 .*start it with `llmemo-proxy/);
    const bad = requestsFile([chat('x'), '{not json']);
    const badFile = await llmemo(['warm', bad, '--proxy', 'http://127.0.0.1:9'], { env: { OPENAI_API_KEY: 'k' } });
    expect(oneLine(badFile)).toMatch(/line 2 is not JSON/);
    const wrongUrl = requestsFile([{ url: '/v1/responses', body: { model: 'm', input: 'x' } }]);
    const wrong = await llmemo(['warm', wrongUrl, '--proxy', 'http://127.0.0.1:9'], { env: { OPENAI_API_KEY: 'k' } });
    expect(oneLine(wrong)).toMatch(/\/v1\/responses is not cached by the proxy/);
    // Nothing was sent anywhere for a file that does not check out.
    expect(server.requests).toEqual([]);
  });
});
