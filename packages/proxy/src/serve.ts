import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { ProxyOptions } from './options.js';
import { createProxy, type LlmemoProxy, listenerOf } from './proxy.js';

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
  // The hot routes on Node's own request and response; the rest through the adapter, which (as `serve` did) takes
  // the host it listens on for a request without a Host header.
  const server: Server = createServer(listenerOf(proxy, getRequestListener(proxy.fetch, { hostname: host })));
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
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
        server.closeAllConnections();
      });
      await proxy.flush();
      await proxy.close();
    },
  };
}
