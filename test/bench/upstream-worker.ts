// A local OpenAI-compatible upstream in its own process, for proxy.bench.ts's time-to-first-token and streamed-miss
// rows: in the bench's own process the server's writes and the client's reads share one event loop (the client
// would see the first bytes only after the server wrote the last), and the server's CPU would be charged to
// whatever is measured. Args: deltas, ms between deltas. Prints its URL; exits when stdin closes.
import { createInterface } from 'node:readline';
import { createOpenAITestServer } from '@llmemo/test-support/openai';

const [chunks, perTokenMs] = process.argv.slice(2).map(Number) as [number, number];
const server = await createOpenAITestServer();
server.script({ chunks: Array.from({ length: chunks }, (_, i) => ` word${i}`) });
server.setLatency({ firstTokenMs: 0, perTokenMs });
process.stdout.write(`${server.url}\n`);
// A line `latency <ms between deltas>` on stdin changes the pace (the warmed rows warm the proxy up at full speed,
// then measure at the row's pace); each change is acknowledged with a line `ok`.
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, value] = line.trim().split(/\s+/);
  if (command === 'latency') {
    server.setLatency({ firstTokenMs: 0, perTokenMs: Number(value) });
    process.stdout.write('ok\n');
  }
});
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0));
});
