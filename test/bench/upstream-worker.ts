// A local OpenAI-compatible upstream in its own process, for proxy.bench.ts's time-to-first-token and streamed-miss
// rows: in the bench's own process the server's writes and the client's reads share one event loop (the client
// would see the first bytes only after the server wrote the last), and the server's CPU would be charged to
// whatever is measured. Args: deltas, ms between deltas. Prints its URL; exits when stdin closes.
import { createOpenAITestServer } from '@llmemo/test-support/openai';

const [chunks, perTokenMs] = process.argv.slice(2).map(Number) as [number, number];
const server = await createOpenAITestServer();
server.script({ chunks: Array.from({ length: chunks }, (_, i) => ` word${i}`) });
server.setLatency({ firstTokenMs: 0, perTokenMs });
process.stdout.write(`${server.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0));
});
