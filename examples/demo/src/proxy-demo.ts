// `pnpm proxy:demo`: the caching proxy (the real `llmemo-proxy` binary) in front of a local server that plays
// OpenAI, so `curl` shows a MISS, then a HIT, with no API key and nothing billed. Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createOpenAITestServer } from '@llmemo/test-support/openai';

const MODEL_MS = 600;

function portFlag(): number {
  const at = process.argv.indexOf('--port');
  const port = at === -1 ? 8787 : Number(process.argv[at + 1]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error('proxy:demo: --port takes a port number (default 8787).');
    process.exit(2);
  }
  return port;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

const port = portFlag();
if (!(await free(port))) {
  console.error(`proxy:demo: port ${port} on 127.0.0.1 is in use (another proxy:demo?); pick another with --port.`);
  process.exit(2);
}
const model = await createOpenAITestServer();
// A miss waits for the model; a hit does not. Streams: the first token after MODEL_MS, then one every 10 ms.
model.setLatency({ responseMs: MODEL_MS, firstTokenMs: MODEL_MS, perTokenMs: 10 });
const bin = join(dirname(createRequire(import.meta.url).resolve('@llmemo/proxy/package.json')), 'dist', 'bin.js');
console.log(`A local server plays OpenAI on ${model.origin} (any API key, ${MODEL_MS} ms per answer).`);
console.log(`Starting: llmemo-proxy --upstream ${model.origin} --port ${port}\n`);
const proxy = spawn(process.execPath, [bin, '--upstream', model.origin, '--port', String(port)], { stdio: 'inherit' });

let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  await model.close();
  process.exit(code);
}
proxy.on('exit', (code, signal) => {
  if (!stopping && code !== 0) console.error(`proxy:demo: the proxy stopped (${signal ?? `exit code ${code}`}).`);
  void stop(code ?? 0);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    proxy.kill(signal);
  });
}

for (let tries = 0; !(await accepting(port)); tries++) {
  if (tries > 100 || proxy.exitCode !== null) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
if (proxy.exitCode === null) {
  console.log(
    [
      '',
      'From another terminal, ask it the same question twice (the key is any string: it only names your namespace):',
      '',
      `  for i in 1 2; do curl -s -o /dev/null -w '%header{x-cache} in %{time_total}s\\n' http://127.0.0.1:${port}/v1/chat/completions \\`,
      "    -H 'Authorization: Bearer sk-demo' -H 'Content-Type: application/json' \\",
      `    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Why cache LLM calls?"}]}'; done`,
      '',
      `Or point any OpenAI client at it: OPENAI_BASE_URL=http://127.0.0.1:${port}/v1 OPENAI_API_KEY=sk-demo. Ctrl-C stops.`,
    ].join('\n'),
  );
}
