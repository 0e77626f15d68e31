import { createHash } from 'node:crypto';
import { headerOf } from './answer.js';
import type { Step } from './pipeline.js';
import { declaredLength } from './request.js';

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

function shortDigest(namespace: string): string {
  return createHash('sha256').update(namespace).digest('hex').slice(0, 12);
}

/** The access log step: writes one entry per request once its response is finished. */
export function accessLog(write: (entry: AccessLogEntry) => void): Step {
  return async (request, next) => {
    const started = performance.now();
    const record: RequestRecord = {};
    request.record = record;
    const { outgoing } = request;
    const socket = outgoing?.socket;
    const writtenBefore = socket?.bytesWritten ?? 0;
    const reply = await next();
    const emit = (aborted: boolean) => {
      const entry: AccessLogEntry = {
        method: request.method,
        path: request.pathname,
        status: reply.status,
        cache: headerOf(reply, 'x-cache') ?? '-',
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      };
      const bypass = headerOf(reply, 'x-llmemo-bypass');
      if (bypass) entry.bypass = bypass;
      if (record.upstreamMs !== undefined) entry.upstreamMs = Math.round(record.upstreamMs * 100) / 100;
      const declared = declaredLength(request);
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
    return reply;
  };
}
