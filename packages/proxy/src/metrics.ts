import { KEY_PREFIX, type ResponseCache } from '@llmemo/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type EndpointLabel = 'chat' | 'messages' | 'embeddings' | 'images' | 'models' | 'other';

/** Entries in the store, where the store can count cheaply (memory, SQLite); Redis would need a full SCAN. */
async function countEntries(cache: ResponseCache): Promise<number | undefined> {
  const store = cache.store as { count?: (prefix: string) => Promise<number | undefined> };
  return typeof store.count === 'function' ? store.count(KEY_PREFIX) : undefined;
}

/** The cache's own counters (every user of this cache in this process), read at scrape time. */
function registerCacheMetrics(registry: Registry, cache: ResponseCache): void {
  const registers = [registry];
  const fromStats = (name: string, help: string, read: (stats: ReturnType<ResponseCache['stats']>) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(cache.stats()));
      },
    });
  fromStats('llmemo_cache_hits_total', 'Cache hits (core counter).', (s) => s.hits);
  fromStats('llmemo_cache_misses_total', 'Cache misses (core counter).', (s) => s.misses);
  fromStats('llmemo_cache_writes_total', 'Entries written.', (s) => s.writes);
  fromStats('llmemo_cache_errors_total', 'Store errors the cache failed open on.', (s) => s.errors);
  fromStats('llmemo_cache_evictions_total', 'Entries evicted by the memory store bounds.', (s) => s.evictions);
  fromStats('llmemo_cache_skips_total', 'Results not stored (too large, not cacheable, no-store).', (s) => s.skips);
  fromStats('llmemo_cache_coalesced_total', 'Calls that shared an in-flight computation.', (s) => s.coalesced);
  fromStats('llmemo_cache_bytes_written_total', 'Bytes of entries written.', (s) => s.bytesWritten);
  new Counter({
    name: 'llmemo_cache_tokens_saved_total',
    help: 'Tokens the hits did not spend, from the usage each entry recorded.',
    labelNames: ['type'],
    registers,
    collect() {
      const { tokensSaved } = cache.stats();
      this.reset();
      this.inc({ type: 'input' }, tokensSaved.input);
      this.inc({ type: 'output' }, tokensSaved.output);
    },
  });
  new Gauge({
    name: 'llmemo_cache_entries',
    help: 'Entries in the store, where it can count them cheaply (memory and SQLite, not Redis).',
    registers,
    async collect() {
      try {
        const count = await countEntries(cache);
        if (count !== undefined) this.set(count);
      } catch {
        // A store that cannot count right now leaves the gauge at its last value; /metrics must still answer.
      }
    },
  });
}

/** Prometheus metrics for one proxy, in its own registry (two proxies in one process do not collide). */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'endpoint' | 'cache'>;
  private readonly duration: Histogram<'endpoint' | 'cache'>;
  private readonly lookups: Counter<'endpoint' | 'result'>;
  private readonly saved: Counter<'endpoint'>;
  private readonly upstream: Counter<'endpoint'>;
  private readonly coalesced: Counter<'endpoint'>;

  constructor(cache: ResponseCache) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'llmemo_proxy_requests_total',
      help: 'Requests answered, by endpoint and X-Cache result (hit, miss, stale, bypass).',
      labelNames: ['endpoint', 'cache'],
      registers,
    });
    this.duration = new Histogram({
      name: 'llmemo_proxy_response_seconds',
      help: 'Time to the response headers (for streams: to the first byte), by endpoint and X-Cache result.',
      labelNames: ['endpoint', 'cache'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.lookups = new Counter({
      name: 'llmemo_proxy_cache_lookups_total',
      help: 'Cache lookups by endpoint and result (hit or miss); an embeddings batch counts each input.',
      labelNames: ['endpoint', 'result'],
      registers,
    });
    this.saved = new Counter({
      name: 'llmemo_proxy_latency_saved_seconds_total',
      help: 'Upstream time the hits did not wait for (each entry records how long its upstream call took).',
      labelNames: ['endpoint'],
      registers,
    });
    this.upstream = new Counter({
      name: 'llmemo_proxy_upstream_requests_total',
      help: 'Requests sent to the upstream, by endpoint.',
      labelNames: ['endpoint'],
      registers,
    });
    this.coalesced = new Counter({
      name: 'llmemo_proxy_coalesced_total',
      help: 'Streamed requests that shared an identical in-flight upstream stream instead of sending their own.',
      labelNames: ['endpoint'],
      registers,
    });
    registerCacheMetrics(this.registry, cache);
  }

  response(endpoint: EndpointLabel, cache: string, seconds: number): void {
    const labels = { endpoint, cache: cache.toLowerCase() };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  hit(endpoint: EndpointLabel, savedMs = 0, count = 1): void {
    this.lookups.inc({ endpoint, result: 'hit' }, count);
    if (savedMs > 0) this.saved.inc({ endpoint }, savedMs / 1000);
  }

  miss(endpoint: EndpointLabel, count = 1): void {
    this.lookups.inc({ endpoint, result: 'miss' }, count);
  }

  upstreamRequest(endpoint: EndpointLabel): void {
    this.upstream.inc({ endpoint });
  }

  coalescedRequest(endpoint: EndpointLabel): void {
    this.coalesced.inc({ endpoint });
  }

  async snapshot(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const metric of await this.registry.getMetricsAsJSON()) {
      if (!metric.name.startsWith('llmemo_proxy_') || String(metric.type) === 'histogram') continue;
      const values: Record<string, number> = {};
      for (const { labels, value } of metric.values) {
        const label = Object.values(labels).join('.');
        values[label || 'value'] = value;
      }
      out[metric.name.replace(/^llmemo_proxy_/, '')] = values;
    }
    return out;
  }
}
