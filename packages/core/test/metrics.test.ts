import { metrics } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { type CacheRequest, createCache, type ResponseCache } from '../src/index.js';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function setup() {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider };
}

async function points(reader: MetricReader, name: string): Promise<DataPoint<unknown>[]> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name === name) return metric.dataPoints as DataPoint<unknown>[];
    }
  }
  return [];
}

const req = (text: string, model = 'gpt-4o-mini'): CacheRequest => ({
  kind: 'chat',
  provider: 'openai.chat',
  model,
  input: text,
});

const caches: ResponseCache[] = [];
afterEach(async () => {
  metrics.disable();
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

describe('OpenTelemetry metrics', () => {
  it('counts requests by result with labels, and records lookup latency, bytes written and tokens saved', async () => {
    const { reader, provider } = setup();
    const cache = createCache({ namespace: 'tenant-1', metrics: { meterProvider: provider } });
    caches.push(cache);
    cache.on('error', () => {});
    const usage = () => ({ usage: { inputTokens: 100, outputTokens: 40 } });
    await cache.getOrCompute(req('a'), async () => 'A', { metadata: usage }); // miss
    await cache.flush();
    await cache.getOrCompute(req('a'), async () => 'A'); // hit
    await cache.getOrCompute(req('a'), async () => 'A'); // hit
    await cache.getOrCompute(req('b'), async () => 'B', { mode: 'off' }); // bypass
    await cache.store.set(cache.key(req('c')), '{corrupt', undefined);
    await cache.getOrCompute(req('c'), async () => 'C', { noStore: true }); // error (unreadable entry)

    const requests = await points(reader, 'llmemo.cache.requests');
    const byResult = Object.fromEntries(requests.map((p) => [p.attributes['llmemo.result'], p.value]));
    expect(byResult).toEqual({ miss: 1, hit: 2, bypass: 1, error: 1 });
    expect(requests[0]!.attributes).toMatchObject({
      'llmemo.kind': 'chat',
      'llmemo.provider': 'openai.chat',
      'llmemo.model': 'gpt-4o-mini',
      'llmemo.namespace': 'tenant-1',
    });

    const [lookup] = await points(reader, 'llmemo.cache.lookup.duration');
    expect((lookup!.value as Histogram).count).toBe(4); // every read of the store: miss, 2 hits, the corrupt one
    expect((lookup!.value as Histogram).sum).toBeGreaterThan(0);

    const [written] = await points(reader, 'llmemo.cache.written');
    expect(written!.value).toBe(cache.stats().bytesWritten);

    const tokens = await points(reader, 'llmemo.cache.tokens.saved');
    expect(Object.fromEntries(tokens.map((p) => [p.attributes['llmemo.token.type'], p.value]))).toEqual({
      input: 200,
      output: 80,
    });
  });

  it('uses the global MeterProvider from @opentelemetry/api when the app registered one', async () => {
    const { reader, provider } = setup();
    metrics.setGlobalMeterProvider(provider);
    const cache = createCache();
    caches.push(cache);
    await cache.getOrCompute(req('x'), async () => 'x');
    const requests = await points(reader, 'llmemo.cache.requests');
    expect(requests.map((p) => p.attributes['llmemo.result'])).toEqual(['miss']);
  });

  it('picks up a global provider registered after the cache was created', async () => {
    const cache = createCache();
    caches.push(cache);
    await cache.getOrCompute(req('before'), async () => 'x');
    const { reader, provider } = setup();
    metrics.setGlobalMeterProvider(provider);
    await cache.getOrCompute(req('after'), async () => 'x');
    expect((await points(reader, 'llmemo.cache.requests')).map((p) => p.value)).toEqual([1]);
  });

  it('records nothing with metrics: false, and no namespace with namespaceAttribute: false', async () => {
    const { reader, provider } = setup();
    metrics.setGlobalMeterProvider(provider);
    const off = createCache({ metrics: false });
    const noNamespace = createCache({ namespace: 'user-123', metrics: { namespaceAttribute: false } });
    caches.push(off, noNamespace);
    await off.getOrCompute(req('x'), async () => 'x');
    await noNamespace.getOrCompute(req('y'), async () => 'y');
    const requests = await points(reader, 'llmemo.cache.requests');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.attributes['llmemo.namespace']).toBeUndefined();
  });

  it('rejects a meterProvider that is not one', () => {
    expect(() => createCache({ metrics: { meterProvider: {} as never } })).toThrow(/meterProvider/);
  });
});
