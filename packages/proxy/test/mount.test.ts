import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxy, type LlmemoProxy } from '../src/index.js';
import { apiKey, useHarness, user } from './helpers.js';

const h = useHarness();
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function own(proxy: LlmemoProxy): LlmemoProxy {
  cleanup.push(() => proxy.close());
  return proxy;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('mounting createProxy in your own server', () => {
  it('as a Node listener under a path prefix, next to your own routes', async () => {
    const proxy = own(createProxy({ upstream: h.server.url }));
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/llm/')) {
        // Like Express's app.use('/llm', proxy.listener): the proxy sees the path without the prefix.
        req.url = req.url.slice('/llm'.length);
        proxy.listener(req, res);
        return;
      }
      res.end('my app');
    });
    const origin = await listen(server);
    const client = new OpenAI({ baseURL: `${origin}/llm/v1`, apiKey: apiKey(), maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('mounted') });
    await proxy.flush();
    const again = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: user('mounted'), stream: true })
      .withResponse();
    expect(again.response.headers.get('x-cache')).toBe('HIT');
    let text = '';
    for await (const chunk of again.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Echo: mounted');
    expect(await (await fetch(`${origin}/`)).text()).toBe('my app');
    expect(h.server.count('/v1/chat/completions')).toBe(1);
  });

  it('in a Hono app with app.mount (the prefix is stripped), or called as a fetch handler', async () => {
    const proxy = own(createProxy({ upstream: h.server.url }));
    const app = new Hono();
    app.get('/', (c) => c.text('my app'));
    app.mount('/llm', proxy.fetch);
    const key = apiKey();
    const ask = () =>
      app.request('/llm/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('in hono') }),
      });
    expect((await ask()).headers.get('x-cache')).toBe('MISS');
    await proxy.flush();
    const hit = await ask();
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect((await hit.json()).choices[0].message.content).toBe('Echo: in hono');
    // The Web body path (no Node socket underneath) still enforces the size limit.
    const small = own(createProxy({ upstream: h.server.url, maxBodyBytes: 64 }));
    const big = await small.fetch(
      new Request('http://proxy/v1/chat/completions', {
        method: 'POST',
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(
              new TextEncoder().encode(JSON.stringify({ model: 'm', messages: user('x'.repeat(100)) })),
            );
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit),
    );
    expect(big.status).toBe(413);
  });
});
