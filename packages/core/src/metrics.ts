import { createRequire } from 'node:module';
import { LlmemoError } from './errors.js';

/**
 * OpenTelemetry metrics through `@opentelemetry/api`, an optional peer: loaded lazily, and without it (or with no
 * SDK registered) nothing is recorded. The types below are the few structural bits of the API we use, so core
 * compiles and type-checks for apps that never install OpenTelemetry.
 */
export type MetricAttributes = Record<string, string | number | boolean>;

interface CounterLike {
  add(value: number, attributes?: MetricAttributes): void;
}
interface HistogramLike {
  record(value: number, attributes?: MetricAttributes): void;
}
interface MeterLike {
  createCounter(name: string, options?: { description?: string; unit?: string }): CounterLike;
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } },
  ): HistogramLike;
}

/** What `@opentelemetry/api`'s `MeterProvider` (and the SDK's) looks like to us. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): MeterLike;
}

export interface MetricsOptions {
  /** Record to this provider instead of the global one registered with `@opentelemetry/api`. */
  meterProvider?: MeterProviderLike;
  /**
   * Add `llmemo.namespace` to every data point. Default true. Turn it off when namespaces are per user or per
   * request: each distinct value is a new time series.
   */
  namespaceAttribute?: boolean;
}

export type RequestResult = 'hit' | 'miss' | 'stale' | 'bypass' | 'error';

export interface MetricLabels {
  kind: string;
  provider: string;
  model: string;
  namespace: string;
}

interface Instruments {
  requests: CounterLike;
  lookup: HistogramLike;
  written: CounterLike;
  tokens: CounterLike;
  evictions: CounterLike;
}

type OtelApi = { metrics: { getMeterProvider(): MeterProviderLike } };

let api: OtelApi | null | undefined;

/** `require` works from both builds (ESM through createRequire) and keeps the load synchronous: no lost first calls. */
function loadApi(): OtelApi | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      api = null;
    }
  }
  return api;
}

/** Seconds; lookups on an in-process LRU take microseconds, a remote store milliseconds. */
const LOOKUP_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Re-resolve the global provider this often, so an SDK registered after the cache was built is picked up. */
const RECHECK_EVERY = 1024;

export class CacheMetrics {
  private provider: MeterProviderLike | undefined;
  private instruments: Instruments | undefined;
  private calls = 0;
  private noop = true;
  private readonly namespaceAttribute: boolean;

  constructor(private readonly options: MetricsOptions = {}) {
    this.namespaceAttribute = options.namespaceAttribute ?? true;
  }

  private resolve(): Instruments | undefined {
    if (this.instruments && !this.noop && ++this.calls % RECHECK_EVERY !== 0) return this.instruments;
    const provider = this.options.meterProvider ?? loadApi()?.metrics.getMeterProvider();
    if (!provider) return undefined;
    if (provider !== this.provider) {
      this.provider = provider;
      this.noop = provider.constructor?.name === 'NoopMeterProvider';
      const meter = provider.getMeter('@llmemo/core');
      this.instruments = {
        requests: meter.createCounter('llmemo.cache.requests', {
          description: 'Cache lookups by result (llmemo.result: hit, miss, stale, bypass, error).',
          unit: '{request}',
        }),
        lookup: meter.createHistogram('llmemo.cache.lookup.duration', {
          description: 'Time to read and decode an entry from the store.',
          unit: 's',
          advice: { explicitBucketBoundaries: LOOKUP_BUCKETS },
        }),
        written: meter.createCounter('llmemo.cache.written', {
          description: 'Bytes of entries written to the store.',
          unit: 'By',
        }),
        tokens: meter.createCounter('llmemo.cache.tokens.saved', {
          description: 'Tokens the hits did not spend (llmemo.token.type: input or output).',
          unit: '{token}',
        }),
        evictions: meter.createCounter('llmemo.cache.evictions', {
          description: 'Entries evicted to stay within maxEntries/maxBytes.',
          unit: '{entry}',
        }),
      };
    }
    return this.instruments;
  }

  /**
   * Whether anything would be recorded now: false while the global provider is OpenTelemetry's no-op one (checked
   * on every call, so a provider registered later is picked up at once). Lets the hot path skip building labels.
   */
  get active(): boolean {
    const instruments = this.resolve();
    return instruments !== undefined && !this.noop;
  }

  private attributes(labels: MetricLabels): MetricAttributes {
    const attributes: MetricAttributes = {
      'llmemo.kind': labels.kind,
      'llmemo.provider': labels.provider,
      'llmemo.model': labels.model,
    };
    if (this.namespaceAttribute) attributes['llmemo.namespace'] = labels.namespace;
    return attributes;
  }

  request(result: RequestResult, labels: MetricLabels): void {
    const instruments = this.resolve();
    if (!instruments) return;
    instruments.requests.add(1, { ...this.attributes(labels), 'llmemo.result': result });
  }

  lookup(seconds: number, labels: MetricLabels): void {
    this.resolve()?.lookup.record(seconds, this.attributes(labels));
  }

  written(bytes: number, labels: MetricLabels): void {
    this.resolve()?.written.add(bytes, this.attributes(labels));
  }

  tokensSaved(input: number, output: number, labels: MetricLabels): void {
    const instruments = this.resolve();
    if (!instruments) return;
    const attributes = this.attributes(labels);
    if (input > 0) instruments.tokens.add(input, { ...attributes, 'llmemo.token.type': 'input' });
    if (output > 0) instruments.tokens.add(output, { ...attributes, 'llmemo.token.type': 'output' });
  }

  evicted(count: number, store: string): void {
    this.resolve()?.evictions.add(count, { 'llmemo.store': store });
  }
}

export function resolveMetrics(option: unknown): CacheMetrics | undefined {
  if (option === false) return undefined;
  if (option === undefined || option === true) return new CacheMetrics();
  if (option && typeof option === 'object' && !Array.isArray(option)) {
    const { meterProvider, namespaceAttribute, ...rest } = option as MetricsOptions;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      throw invalid(`metrics has no option '${unknown}'; use 'meterProvider' and 'namespaceAttribute'.`);
    }
    if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
      throw invalid('metrics.meterProvider must be an OpenTelemetry MeterProvider (with getMeter).');
    }
    if (namespaceAttribute !== undefined && typeof namespaceAttribute !== 'boolean') {
      throw invalid('metrics.namespaceAttribute must be true or false.');
    }
    return new CacheMetrics({ meterProvider, namespaceAttribute });
  }
  throw invalid('metrics must be true, false or { meterProvider, namespaceAttribute }.');
}

function invalid(message: string): LlmemoError {
  return new LlmemoError('INVALID_OPTIONS', message);
}
