import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Upstream } from '../src/upstream.js';

const text = (chunk: Uint8Array) => Buffer.from(chunk).toString('utf8');
const event = (i: number) => `data: {"n":${i}}\n\n`;

/** A real server whose stream the test drives: each burst is written in one go, the next when the test says. */
async function burstServer() {
  let response: ServerResponse | undefined;
  let opened: () => void = () => {};
  const started = new Promise<void>((resolve) => (opened = resolve));
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    response = res;
    opened();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    upstream: new Upstream(new URL(`http://127.0.0.1:${port}`), 5000),
    started,
    /** One write per event (one HTTP chunk each), all in the same tick. */
    burst(events: string[]) {
      for (const one of events) response!.write(one);
    },
    end: () => response!.end(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const servers: { close(): Promise<void>; upstream: Upstream }[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    await server.upstream.close();
    await server.close();
  }
});

describe('Upstream.stream', () => {
  it('passes the events written in one burst on as one chunk, and a later burst as its own', async () => {
    const server = await burstServer();
    servers.push(server);
    const response = await server.upstream.request('GET', '/', {});
    await server.started;
    const seen: string[] = [];
    const reader = Upstream.stream(response, { onChunk: (chunk) => seen.push(text(chunk)) }).getReader();
    const first = Array.from({ length: 20 }, (_, i) => event(i));
    server.burst(first);
    const one = await reader.read();
    expect(text(one.value!)).toBe(first.join(''));
    // Nothing of the second burst is held back for a third: it comes as soon as it is read.
    const second = [event(20), event(21)];
    server.burst(second);
    const two = await reader.read();
    expect(text(two.value!)).toBe(second.join(''));
    server.end();
    expect((await reader.read()).done).toBe(true);
    expect(seen).toEqual([first.join(''), second.join('')]);
  });

  it('keeps every byte, in order, across many bursts of any size', async () => {
    const server = await burstServer();
    servers.push(server);
    const response = await server.upstream.request('GET', '/', {});
    await server.started;
    let ended = false;
    const stream = Upstream.stream(response, { onEnd: () => (ended = true) });
    const sent: string[] = [];
    for (let burst = 0; burst < 30; burst++) {
      const events = Array.from({ length: 1 + (burst % 7) }, (_, i) => event(burst * 10 + i));
      sent.push(...events);
      server.burst(events);
      await new Promise((resolve) => setImmediate(resolve));
    }
    server.end();
    let received = '';
    for await (const chunk of stream) received += text(chunk);
    expect(received).toBe(sent.join(''));
    expect(ended).toBe(true);
  });

  it('cancelled with chunks waiting to go on: nothing is enqueued after the cancel, and the body is destroyed', async () => {
    const body = new PassThrough();
    const stream = Upstream.stream({ body } as unknown as Dispatcher.ResponseData);
    const reader = stream.getReader();
    const pending = reader.read();
    // The body flows from the next tick on; then both writes reach the data listener at once, and their chunk
    // would go on a microtask later, after the cancel.
    await new Promise((resolve) => setImmediate(resolve));
    body.write('data: 1\n\n');
    body.write('data: 2\n\n');
    await reader.cancel();
    expect(body.destroyed).toBe(true);
    expect((await pending).done).toBe(true);
  });

  it('an error after some chunks: the chunks already read go on, then the error', async () => {
    const body = new PassThrough();
    const chunks: string[] = [];
    const stream = Upstream.stream({ body } as unknown as Dispatcher.ResponseData, {
      onChunk: (chunk) => chunks.push(text(chunk)),
    });
    const reader = stream.getReader();
    const first = reader.read();
    body.write('data: 1\n\n');
    body.destroy(new Error('socket hang up'));
    expect(text((await first).value!)).toBe('data: 1\n\n');
    await expect(reader.read()).rejects.toThrow('socket hang up');
    expect(chunks).toEqual(['data: 1\n\n']);
  });
});
