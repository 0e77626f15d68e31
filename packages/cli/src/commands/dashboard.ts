import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createDashboard, type Dashboard } from '@llmemo/dashboard';
import { type GlobalOptions, openCache } from '../context.js';
import { CliError } from '../errors.js';
import { loadPrices } from './stats.js';

export interface DashboardOptions {
  port: number;
  prices?: string;
}

export const DEFAULT_DASHBOARD_PORT = 4777;

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new CliError(`port ${port} on 127.0.0.1 is in use: pass another with --port <n> (0 picks a free one).`)
          : error,
      );
    });
    // Loopback only: the page shows what the store holds, and this server asks for no token.
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** Resolves on SIGINT or SIGTERM (Ctrl-C), so the command returns and the store closes cleanly. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `llmemo dashboard`: serves the dashboard for a store on 127.0.0.1 until Ctrl-C. */
export async function dashboardCommand(options: DashboardOptions, globals: GlobalOptions): Promise<void> {
  const prices = loadPrices(options.prices);
  const cache = await openCache(globals);
  let dashboard: Dashboard | undefined;
  const server = createServer(
    getRequestListener(async (request) => (dashboard ? dashboard.fetch(request) : new Response(null, { status: 503 }))),
  );
  try {
    const port = await listen(server, options.port);
    dashboard = createDashboard({
      cache,
      ...(prices ? { prices } : {}),
      // This process has no traffic of its own: the breaker and error counts of the apps are not visible here.
      live: false,
      // A web page whose own host name resolves to 127.0.0.1 (DNS rebinding) sends its own Host: refuse it.
      allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`],
    });
    const url = `http://127.0.0.1:${port}/`;
    if (globals.json) process.stdout.write(`${JSON.stringify({ url, store: cache.store.type })}\n`);
    else process.stdout.write(`llmemo dashboard: ${url} (${cache.store.type} store; Ctrl-C to stop)\n`);
    await untilStopped();
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await cache.close();
  }
}
