import type { Logger } from './cache-types.js';
import { computeDuration, type EntryMeta, type Envelope } from './envelope.js';
import { describeError, type LlmemoError } from './errors.js';
import { type CacheEvents, type ErrorEvent, type MissEvent, type StoreEvent, TypedEmitter } from './events.js';
import { type DerivedKey, parseKey } from './key.js';
import type { CacheMetrics, MetricLabels, RequestResult } from './metrics.js';
import type { CacheRequest } from './request.js';
import { type CacheStats, type PriceTable, StatsCounter } from './stats.js';
import type { StatsSync } from './stats-sync.js';
import { STORE_WIDE } from './stored-stats.js';
import type { CounterField } from './stores/store.js';

/**
 * Where every outcome is told: this process's counters (`stats()`), the shared counters in the store
 * (`persistStats`), OpenTelemetry metrics, the logger, and the cache's events. One call per outcome, so the read
 * and write paths say what happened once and never need to know who listens.
 */
export class Recorder {
  readonly counters: StatsCounter;
  readonly events: TypedEmitter<CacheEvents>;

  constructor(
    prices: PriceTable | undefined,
    private readonly metrics: CacheMetrics | undefined,
    readonly logger: Logger | undefined,
    private readonly shared: StatsSync | undefined,
  ) {
    this.counters = new StatsCounter(prices);
    this.events = new TypedEmitter<CacheEvents>((error) =>
      this.logger?.error?.(`llmemo: an event listener threw: ${describeError(error)}`),
    );
  }

  /** The metrics while they record anything (undefined while OpenTelemetry is a no-op: no labels to build). */
  get activeMetrics(): CacheMetrics | undefined {
    return this.metrics?.active ? this.metrics : undefined;
  }

  labels(request: CacheRequest, namespace: string): MetricLabels {
    return {
      kind: String(request.kind),
      provider: String(request.provider),
      model: String(request.model),
      namespace,
    };
  }

  private measure(result: RequestResult, request: CacheRequest, namespace: string): void {
    if (this.metrics?.active) this.metrics.request(result, this.labels(request, namespace));
  }

  /** A call that went straight to compute: mode 'off', a closed cache, or a request that cannot be keyed. */
  bypassed(request: CacheRequest, namespace: string): void {
    this.counters.bypasses++;
    this.countShared(namespace, String(request.model), 'bypasses', 1);
    this.measure('bypass', request, namespace);
  }

  missed(derived: DerivedKey, request: CacheRequest, reason: MissEvent['reason']): void {
    this.counters.miss(String(request.model));
    if (this.shared) {
      this.shared.add(derived.namespace, String(request.model), 'misses', 1);
      this.shared.schedule();
    }
    this.measure(reason === 'error' ? 'error' : 'miss', request, derived.namespace);
  }

  /** Takes back the miss a lookup counted when the call ends as a stale hit instead: one call, one counter. */
  unmissed(derived: DerivedKey, request: CacheRequest): void {
    this.counters.unmiss(String(request.model));
    this.shared?.add(derived.namespace, String(request.model), 'misses', -1);
  }

  /** The `miss` event of a call that goes on to compute. */
  announceMiss(derived: DerivedKey, request: CacheRequest, reason: MissEvent['reason']): void {
    // Every miss passes here: without a listener, build no event.
    if (!this.events.hasListeners('miss')) return;
    this.events.emit('miss', {
      key: derived.key,
      kind: request.kind,
      provider: request.provider,
      model: request.model,
      namespace: derived.namespace,
      reason,
    });
  }

  hit(entry: Envelope<unknown>, derived: DerivedKey, request: CacheRequest, stale: boolean, age: number): void {
    if (stale) this.counters.staleHits++;
    const input = entry.usage?.inputTokens ?? 0;
    const output = entry.usage?.outputTokens ?? 0;
    const model = String(request.model);
    const computeMs = computeDuration(entry.computeMs) ?? 0;
    this.counters.hit(model, input, output, computeMs);
    if (this.shared) {
      const row = this.shared.row(derived.namespace, model);
      row.hits++;
      if (stale) row.staleHits++;
      row.inputTokensSaved += input;
      row.outputTokensSaved += output;
      row.timeSavedMs += computeMs;
      this.shared.hit(derived.key, Date.now());
      this.shared.schedule();
    }
    if (this.metrics?.active) {
      const labels = this.labels(request, derived.namespace);
      this.metrics.request(stale ? 'stale' : 'hit', labels);
      this.metrics.tokensSaved(input, output, labels);
    }
    if (this.events.hasListeners('hit')) {
      this.events.emit('hit', {
        key: derived.key,
        kind: request.kind,
        provider: request.provider,
        model: request.model,
        namespace: derived.namespace,
        age,
        stale,
      });
    }
  }

  written(derived: DerivedKey, meta: EntryMeta, bytes: number, ttl: number | null): void {
    this.counters.writes++;
    this.counters.bytesWritten += bytes;
    const model = String(meta.model);
    if (this.shared) {
      this.shared.add(derived.namespace, model, 'writes', 1);
      this.shared.add(derived.namespace, model, 'bytesWritten', bytes);
      this.shared.schedule();
    }
    if (this.metrics?.active) {
      this.metrics.written(bytes, {
        kind: String(meta.kind),
        provider: String(meta.provider),
        model,
        namespace: derived.namespace,
      });
    }
    if (this.events.hasListeners('write')) {
      this.events.emit('write', { key: derived.key, namespace: derived.namespace, bytes, ttl });
    }
  }

  coalesced(key: string, waiting: number): void {
    this.counters.coalesced++;
    this.events.emit('coalesced', { key, waiting });
  }

  evicted(count: number, store: string): void {
    this.counters.evictions += count;
    this.countShared(STORE_WIDE, '', 'evictions', count);
    this.metrics?.evicted(count, store);
    this.events.emit('evict', { count, store });
  }

  /** useStore() closed the store it swapped out (info-level: an operator asked for it). */
  swapped(event: StoreEvent): void {
    const late = event.drained ? '' : ' (calls still in flight when the drain timed out were not stored)';
    this.logger?.info?.(
      `llmemo: now using the ${event.current} store; the ${event.previous} store was flushed and closed${late}.`,
    );
    this.events.emit('store', event);
  }

  /** A value that was not stored, and why (debug-level: skipping is normal). */
  skip(code: CacheEvents['skip']['code'], reason: string, key?: string): void {
    this.counters.skips++;
    this.logger?.debug?.(`llmemo: not cached: ${reason}`, { code, key });
    const event: CacheEvents['skip'] = { code, reason };
    if (key !== undefined) event.key = key;
    this.events.emit('skip', event);
  }

  /** A failure the caller never sees (the cache failed open): counted, logged and sent as an `error` event. */
  error(operation: ErrorEvent['operation'], error: LlmemoError, key?: string): void {
    this.counters.errors++;
    const labels = key === undefined ? undefined : parseKey(key);
    this.countShared(labels?.namespace ?? STORE_WIDE, labels?.model ?? '', 'errors', 1);
    this.logger?.warn?.(`llmemo: ${error.message}`, { code: error.code, operation, key });
    const event: ErrorEvent = { error, operation };
    if (key !== undefined) event.key = key;
    this.events.emit('error', event);
  }

  /** Adds to the counters every process shares (a no-op with persistStats: false). */
  private countShared(namespace: string, model: string, field: CounterField, amount: number): void {
    if (!this.shared) return;
    this.shared.add(namespace, model, field, amount);
    this.shared.schedule();
  }

  snapshot(breaker: { state: 'closed' | 'open' | 'half-open'; opens: number } | undefined): CacheStats {
    const stats = this.counters.snapshot();
    stats.breaker = breaker ? { state: breaker.state, opens: breaker.opens } : { state: 'closed', opens: 0 };
    return stats;
  }
}
