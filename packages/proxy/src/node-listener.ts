import type { IncomingMessage, ServerResponse } from 'node:http';
import { Answer, type Reply, writeAnswer, writeFailed } from './answer.js';
import { answerOf } from './pipeline.js';
import { nodeRequest, type ProxyRequest } from './request.js';

/**
 * The Node listener: the hot routes (POST to the cached endpoints) run the shared chain straight on Node's request
 * and response; every other request goes to the hono app through `@hono/node-server`, as before. A request only
 * takes the Node path when the adapter would see the very same path, query and host: a URL the WHATWG parser would
 * rewrite (percent-encoding, dot segments, an odd Host) goes through hono, which answers it as it always did.
 */

export type NodeRoute = (request: ProxyRequest) => Promise<Reply>;
type Listener = (incoming: IncomingMessage, outgoing: ServerResponse) => void;

/** Query bytes the URL parser leaves as they are (no percent-encoding added, nothing dropped). */
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&()*+,;=:@/?%[\]{}|^`]*$/;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** Lower-case names whose labels start with a letter (never read as IPv4), dotted quads, or [::1]; a port. */
const PLAIN_HOST = new RegExp(
  `^(?:[a-z][a-z0-9-]*(?:\\.[a-z][a-z0-9-]*)*|${OCTET}(?:\\.${OCTET}){3}|\\[::1\\])(?::(\\d{1,5}))?$`,
);

/** Whether the adapter's `new URL(http://host + url)` would give back this host unchanged and accept it. */
function plainHost(host: string | undefined): boolean {
  if (host === undefined || host.includes('xn--')) return false;
  const match = PLAIN_HOST.exec(host);
  return match !== null && (match[1] === undefined || Number(match[1]) <= 65535);
}

/** The hot route for this request, when it is one and its target is plain. */
function hotRoute(incoming: IncomingMessage, routes: ReadonlyMap<string, NodeRoute>): NodeRoute | undefined {
  if (incoming.method !== 'POST') return undefined;
  const url = incoming.url ?? '';
  const mark = url.indexOf('?');
  const route = routes.get(mark < 0 ? url : url.slice(0, mark));
  if (route === undefined) return undefined;
  if (mark >= 0 && !PLAIN_QUERY.test(url.slice(mark + 1))) return undefined;
  return plainHost(incoming.headers.host) ? route : undefined;
}

const DRAIN_TIMEOUT_MS = 500;
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/** Reads and discards a body nobody read (a refusal), as the adapter does, so the client can read the answer. */
function drainIncoming(incoming: IncomingMessage): void {
  const marked = incoming as IncomingMessage & { llmemoDraining?: boolean };
  if (incoming.destroyed || marked.llmemoDraining) return;
  marked.llmemoDraining = true;
  let bytesRead = 0;
  const cleanup = () => {
    clearTimeout(timer);
    incoming.off('data', onData);
    incoming.off('end', cleanup);
    incoming.off('error', cleanup);
  };
  const forceClose = () => {
    cleanup();
    if (incoming.socket && !incoming.socket.destroyed) incoming.socket.destroySoon();
  };
  const timer = setTimeout(forceClose, DRAIN_TIMEOUT_MS);
  timer.unref();
  const onData = (chunk: Buffer) => {
    bytesRead += chunk.length;
    if (bytesRead > MAX_DRAIN_BYTES) forceClose();
  };
  incoming.on('data', onData);
  incoming.on('end', cleanup);
  incoming.on('error', cleanup);
  incoming.resume();
}

/** Serves one hot request: the chain, then its answer written; an unread body is drained once answered. */
function serveHot(route: NodeRoute, incoming: IncomingMessage, outgoing: ServerResponse): void {
  let ended = false;
  incoming.on('end', () => {
    ended = true;
  });
  outgoing.on('finish', () => {
    if (!ended) drainIncoming(incoming);
  });
  outgoing.on('close', () => {
    if (ended) return;
    setTimeout(() => {
      if (!ended) setTimeout(() => drainIncoming(incoming));
    });
  });
  route(nodeRequest(incoming, outgoing))
    .then(answerOf, (error: unknown) => {
      // The error handler itself failed: the adapter's answer to a fetch that threw.
      const timeout =
        error instanceof Error && (error.name === 'TimeoutError' || error.constructor.name === 'TimeoutError');
      return new Answer(null, {}, timeout ? 504 : 500);
    })
    .then((answer) => writeAnswer(answer, outgoing))
    .catch((error: unknown) => writeFailed(error, outgoing));
}

export function nodeListener(routes: ReadonlyMap<string, NodeRoute>, fallback: Listener): Listener {
  return (incoming, outgoing) => {
    const route = hotRoute(incoming, routes);
    if (route === undefined) fallback(incoming, outgoing);
    else serveHot(route, incoming, outgoing);
  };
}
