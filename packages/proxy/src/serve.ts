import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ProxyOptions } from './options.js';
import { createProxy, type LlmemoProxy } from './proxy.js';

export interface StartProxyOptions extends ProxyOptions {
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1' (this machine only); '0.0.0.0' to accept other hosts, e.g. in a container. */
  host?: string;
}

export interface RunningProxy {
  /** Base URL for clients, with '/v1': set OPENAI_BASE_URL (or `baseURL`) to it. */
  readonly url: string;
  readonly port: number;
  readonly proxy: LlmemoProxy;
  /** Stops accepting connections, waits for pending cache writes, and closes the proxy. */
  close(): Promise<void>;
}

/** Creates the proxy and serves it over HTTP on Node. */
export async function startProxy(options: StartProxyOptions): Promise<RunningProxy> {
  const { port = 8787, host = '127.0.0.1', ...proxyOptions } = options;
  const proxy = createProxy(proxyOptions);
  // The namespace secret before the first request (a store that cannot give it now is logged and retried).
  await proxy.ready();
  let server: ReturnType<typeof serve>;
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve({ fetch: proxy.fetch, port, hostname: host }, (info) => resolve(info));
    server.once('error', reject);
  }).catch(async (error: unknown) => {
    await proxy.close();
    throw error;
  });
  const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/v1`,
    port: address.port,
    proxy,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open SSE streams and idle keep-alive sockets would otherwise hold close() open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await proxy.flush();
      await proxy.close();
    },
  };
}
