// The floor the proxy rows are read against: the least a Node pass-through proxy can do (node:http server, undici
// client with keep-alive, the request body read whole, the answer's chunks written as they arrive), with no
// routing, parsing, cache or recording. What the caching proxy adds beyond this is ours; this much is Node's.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

export interface BareProxy {
  /** Base URL with /v1, as the proxy's. */
  readonly url: string;
  close(): Promise<void>;
}

/** Only what the bench's requests need forwarded: the answer's framing is Node's own on each hop. */
function forwarded(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['content-type', 'authorization']) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

export async function startBareProxy(upstream: string): Promise<BareProxy> {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  const server = createServer(async (req, res) => {
    try {
      const parts: Buffer[] = [];
      for await (const part of req) parts.push(part as Buffer);
      const answer = await request(`${upstream}${(req.url ?? '/').replace(/^\/v1/, '')}`, {
        method: req.method as 'POST',
        dispatcher,
        headers: forwarded(req.headers),
        body: Buffer.concat(parts),
      });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (typeof value === 'string' && name !== 'content-length' && name !== 'transfer-encoding')
          headers[name] = value;
      }
      res.writeHead(answer.statusCode, headers);
      for await (const chunk of answer.body) res.write(chunk);
      res.end();
    } catch (error) {
      res.destroy(error as Error);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dispatcher.close();
    },
  };
}
