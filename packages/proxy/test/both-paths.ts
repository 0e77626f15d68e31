import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterEach } from 'vitest';
import { createProxy, type LlmemoProxy } from '../src/index.js';
import { ADMIN_TOKEN, type Harness } from './helpers.js';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request with repeated header lines (arrays), answered in full; `date` is left out of the comparison. */
export function ask(
  port: number,
  path: string,
  headers: Record<string, string | string[]>,
  body: string,
  method = 'POST',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const { date: _date, ...rest } = res.headers;
        resolve({ status: res.statusCode!, headers: rest, body: Buffer.concat(parts).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The same proxy on both Node paths: `listener`, and the adapter over `fetch` as a user would mount it. Whatever
 * the listener does on its own (the Node path of the hot routes), it must read repeated header lines and answer as
 * `fetch` does.
 */
export function useBothPaths(h: Harness) {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  async function listen(server: Server): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    return (server.address() as AddressInfo).port;
  }
  async function bothPaths(options: Partial<Parameters<typeof createProxy>[0]> = {}) {
    const proxy: LlmemoProxy = createProxy({ upstream: h.server.url, adminToken: ADMIN_TOKEN, ...options });
    cleanup.push(() => proxy.close());
    await proxy.ready();
    const listener = await listen(createServer(proxy.listener));
    const fetchPath = await listen(createServer(getRequestListener(proxy.fetch)));
    return { proxy, listener, fetchPath, listen };
  }
  return { bothPaths, listen };
}
