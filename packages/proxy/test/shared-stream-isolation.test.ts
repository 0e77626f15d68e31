import { afterEach, describe, expect, it } from 'vitest';
import { type RunningProxy, startProxy } from '../src/index.js';
import { bearer, secretKey, useEchoUpstream } from './attack.js';
import { ssePayloads } from './helpers.js';

/**
 * The attacker's view of the shared upstream stream on the Node path (streamed misses in flight at once share one
 * upstream stream, pushed to every caller): only callers that would get the same bytes may share it, and what a
 * caller's own copy takes out (usage it did not ask for) is taken out of its copy only. The echo upstream answers
 * every call with its own text, naming the credential's tail, so a stream served to the wrong caller shows.
 */
const upstream = useEchoUpstream();
const running: RunningProxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close()));
});

async function proxy(): Promise<string> {
  const started = await startProxy({ upstream: upstream.server.url, port: 0 });
  running.push(started);
  return started.url.replace(/\/v1$/, '');
}

interface Streamed {
  text: string;
  raw: string;
  coalesced: string | null;
}

async function stream(origin: string, key: string, extra: Record<string, unknown> = {}): Promise<Streamed> {
  const response = await fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'the same words, at the same time' }],
      stream: true,
      ...extra,
    }),
  });
  expect(response.status).toBe(200);
  const raw = await response.text();
  let text = '';
  for (const payload of ssePayloads(raw)) {
    if (payload === '[DONE]') continue;
    const chunk = JSON.parse(payload) as { choices?: { delta?: { content?: string } }[] };
    text += chunk.choices?.[0]?.delta?.content ?? '';
  }
  return { text, raw, coalesced: response.headers.get('x-llmemo-coalesced') };
}

describe('streams in flight at once', () => {
  it('two tenants asking the same at the same time each reach the upstream and get their own stream', async () => {
    const origin = await proxy();
    upstream.server.setLatency({ firstTokenMs: 150, perTokenMs: 2 });
    const a = secretKey('tenant-a');
    const b = secretKey('tenant-b');
    const [first, other, second] = await Promise.all([stream(origin, a), stream(origin, b), stream(origin, a)]);
    // Tenant a's two streams share one upstream stream; tenant b's is its own.
    expect(upstream.server.requestsTo('/v1/chat/completions')).toHaveLength(2);
    expect(second.raw).toBe(first.raw);
    expect([first.coalesced, second.coalesced].filter((mark) => mark === '1')).toHaveLength(1);
    expect(first.text).toContain(`…${a.slice(-6)}`);
    expect(other.text).toContain(`…${b.slice(-6)}`);
    expect(other.text).not.toContain(a.slice(-6));
  });

  it('one shared stream, two wire forms: usage reaches only the caller that asked for it', async () => {
    const origin = await proxy();
    upstream.server.setLatency({ firstTokenMs: 150, perTokenMs: 2 });
    const key = secretKey('tenant-a');
    const [plain, withUsage] = await Promise.all([
      stream(origin, key),
      stream(origin, key, { stream_options: { include_usage: true } }),
    ]);
    expect(upstream.server.requestsTo('/v1/chat/completions')).toHaveLength(1);
    expect(plain.text).toBe(withUsage.text);
    expect(plain.raw).not.toContain('"usage"');
    const usage = ssePayloads(withUsage.raw).filter((payload) => payload.includes('"usage":{'));
    expect(usage).toHaveLength(1);
    // A caller joining after the leader's stream began gets it whole, its own form included.
    const late = stream(origin, key);
    const lateWithUsage = stream(origin, key, { stream_options: { include_usage: true } });
    const [again, againWithUsage] = await Promise.all([late, lateWithUsage]);
    expect(again.raw).not.toContain('"usage"');
    expect(againWithUsage.raw).toContain('"usage":{');
  });
});
