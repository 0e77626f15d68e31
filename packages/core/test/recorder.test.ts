import { describe, expect, it, vi } from 'vitest';
import type { Envelope } from '../src/envelope.js';
import { LlmemoError } from '../src/errors.js';
import type { DerivedKey } from '../src/key.js';
import { Recorder } from '../src/recorder.js';
import type { CacheRequest } from '../src/request.js';
import { StatsSync } from '../src/stats-sync.js';
import type { CounterRow } from '../src/stores/store.js';

const request: CacheRequest = { kind: 'chat', provider: 'p', model: 'm', input: 'x' };
const derived: DerivedKey = { key: 'llmemo:v1:ns:chat:p:m:abc', digest: 'abc', namespace: 'ns', kind: 'chat' };
const entry = { body: 'answer', createdAt: 0, expiresAt: null, usage: { inputTokens: 10, outputTokens: 4 } };

describe('Recorder', () => {
  it('counts a hit with its tokens, per model, and sends one hit event', () => {
    const recorder = new Recorder({ m: { input: 1_000_000, output: 1_000_000 } }, undefined, undefined, undefined);
    const hits = vi.fn();
    recorder.events.on('hit', hits);
    recorder.hit(entry as unknown as Envelope<unknown>, derived, request, true, 42);
    const stats = recorder.snapshot(undefined);
    expect(stats).toMatchObject({ hits: 1, staleHits: 1, tokensSaved: { input: 10, output: 4 }, moneySaved: 14 });
    expect(stats.models.m).toMatchObject({ hits: 1 });
    expect(stats.breaker).toEqual({ state: 'closed', opens: 0 });
    expect(hits).toHaveBeenCalledWith(expect.objectContaining({ key: derived.key, age: 42, stale: true }));
  });

  it('adds hits, misses and writes to the shared counters', async () => {
    const sync = new StatsSync(60_000, () => {}, undefined);
    const recorder = new Recorder(undefined, undefined, undefined, sync);
    recorder.hit(entry as unknown as Envelope<unknown>, derived, request, false, 0);
    recorder.missed(derived, request, 'absent');
    recorder.written(derived, { model: 'm', kind: 'chat', provider: 'p' } as never, 100, 1000);
    let rows: CounterRow[] = [];
    await sync.flush(async (sent) => {
      rows = sent;
    });
    expect(rows).toEqual([
      expect.objectContaining({
        namespace: 'ns',
        model: 'm',
        hits: 1,
        misses: 1,
        writes: 1,
        bytesWritten: 100,
        inputTokensSaved: 10,
        outputTokensSaved: 4,
      }),
    ]);
    sync.stop();
  });

  it('reports errors and skips: counted, logged at their level, and sent as events with the key', () => {
    const logger = { warn: vi.fn(), debug: vi.fn() };
    const recorder = new Recorder(undefined, undefined, logger, undefined);
    const errors = vi.fn();
    const skips = vi.fn();
    recorder.events.on('error', errors);
    recorder.events.on('skip', skips);
    recorder.error('get', new LlmemoError('STORE_UNAVAILABLE', 'down'), 'k');
    recorder.skip('NO_STORE', 'noStore was set', 'k');
    recorder.skip('CLOSED', 'closed');
    expect(recorder.snapshot(undefined)).toMatchObject({ errors: 1, skips: 2 });
    expect(logger.warn).toHaveBeenCalledWith('llmemo: down', { code: 'STORE_UNAVAILABLE', operation: 'get', key: 'k' });
    expect(logger.debug).toHaveBeenCalledTimes(2);
    expect(errors.mock.calls[0]![0]).toMatchObject({ operation: 'get', key: 'k' });
    expect(skips.mock.calls[1]![0]).toEqual({ code: 'CLOSED', reason: 'closed' });
  });

  it('isolates a listener that throws and logs it', () => {
    const logger = { error: vi.fn() };
    const recorder = new Recorder(undefined, undefined, logger, undefined);
    recorder.events.on('coalesced', () => {
      throw new Error('listener bug');
    });
    expect(() => recorder.coalesced('k', 2)).not.toThrow();
    expect(recorder.snapshot(undefined).coalesced).toBe(1);
    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('listener bug'));
  });

  it('counts bypasses, evictions and the breaker state it is given', () => {
    const recorder = new Recorder(undefined, undefined, undefined, undefined);
    const evicts = vi.fn();
    recorder.events.on('evict', evicts);
    recorder.bypassed(request, 'ns');
    recorder.evicted(3, 'sqlite');
    expect(recorder.snapshot({ state: 'open', opens: 2 })).toMatchObject({
      bypasses: 1,
      evictions: 3,
      breaker: { state: 'open', opens: 2 },
    });
    expect(evicts).toHaveBeenCalledWith({ count: 3, store: 'sqlite' });
  });
});
