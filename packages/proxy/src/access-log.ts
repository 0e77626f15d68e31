import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { headerOf } from './context.js';

/**
 * One line per request, for operators: never the prompt, the query string (it can carry `?key=`), a credential or
 * a namespace name (a short digest stands for it).
 */
export interface AccessLogEntry {
  method: string;
  /** The path without its query string. */
  path: string;
  status: number;
  /** X-Cache: HIT, MISS, STALE, BYPASS, or '-' for the proxy's own endpoints and errors before any lookup. */
  cache: string;
  /** Why a cached endpoint went upstream uncached (no-credential, requested, duplicate-keys, …). */
  bypass?: string;
  /** From the request's arrival to the last byte sent (or the client leaving). */
  durationMs: number;
  /** Time spent waiting on the upstream, when this request called it. */
  upstreamMs?: number;
  /** Request body bytes, as declared or read. */
  bytesIn?: number;
  /** Bytes sent to the client, headers included (Node only). */
  bytesOut?: number;
  /** First 12 hex of SHA-256 of the namespace: tells tenants apart in logs without naming them. */
  ns?: string;
  /** True when the client went away before the response was complete. */
  aborted?: boolean;
}

/** What the handlers tell the access log about a request. */
export interface RequestRecord {
  namespace?: string;
  upstreamMs?: number;
}

const RECORD = 'llmemo.requestRecord';

export function recordOf(c: Context): RequestRecord | undefined {
  return (c as unknown as { get(name: string): unknown }).get(RECORD) as RequestRecord | undefined;
}

export function noteNamespace(c: Context, namespace: string): void {
  const record = recordOf(c);
  if (record) record.namespace = namespace;
}

function shortDigest(namespace: string): string {
  return createHash('sha256').update(namespace).digest('hex').slice(0, 12);
}

interface NodeEnv {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

/** The access log middleware: writes one entry per request once its response is finished. */
export function accessLog(write: (entry: AccessLogEntry) => void): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    const record: RequestRecord = {};
    (c as unknown as { set(name: string, value: unknown): void }).set(RECORD, record);
    const { incoming, outgoing } = (c.env ?? {}) as NodeEnv;
    const socket = outgoing?.socket;
    const writtenBefore = socket?.bytesWritten ?? 0;
    await next();
    const res = c.res;
    const emit = (aborted: boolean) => {
      const entry: AccessLogEntry = {
        method: c.req.method,
        path: c.req.path,
        status: res.status,
        cache: headerOf(res, 'x-cache') ?? '-',
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      };
      const bypass = headerOf(res, 'x-llmemo-bypass');
      if (bypass) entry.bypass = bypass;
      if (record.upstreamMs !== undefined) entry.upstreamMs = Math.round(record.upstreamMs * 100) / 100;
      const declared = Number(incoming?.headers['content-length'] ?? c.req.header('content-length'));
      if (Number.isFinite(declared)) entry.bytesIn = declared;
      if (socket) entry.bytesOut = socket.bytesWritten - writtenBefore;
      if (record.namespace !== undefined) entry.ns = shortDigest(record.namespace);
      if (aborted) entry.aborted = true;
      try {
        write(entry);
      } catch {
        // A failing log sink must never fail a request.
      }
    };
    if (outgoing) {
      outgoing.once('close', () => emit(!outgoing.writableFinished));
    } else {
      emit(false);
    }
  };
}
