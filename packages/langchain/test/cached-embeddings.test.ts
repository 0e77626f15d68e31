import { Embeddings } from '@langchain/core/embeddings';
import { embeddingFor } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { CachedEmbeddings } from '../src/index.js';
import { EMBEDDINGS_PATH, embeddingsModel, errorSink, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

/** The texts each embeddings request asked for, in order. */
function sentInputs(): string[][] {
  return ctx.server.requestsTo(EMBEDDINGS_PATH).map((request) => {
    const input = (request.body as { input: string | string[] }).input;
    return Array.isArray(input) ? input : [input];
  });
}

describe.each(['sqlite', 'redis'] as const)('CachedEmbeddings(OpenAIEmbeddings) on %s', (kind) => {
  it('embedDocuments sends only the texts it has not seen, and keeps the order', async () => {
    const cache = await makeCache(kind);
    const embeddings = new CachedEmbeddings({ embeddings: embeddingsModel(ctx.server), cache });
    expect(await embeddings.embedDocuments(['alpha', 'beta'])).toEqual([
      embeddingFor('alpha', 8),
      embeddingFor('beta', 8),
    ]);
    const mixed = await embeddings.embedDocuments(['gamma', 'alpha', 'delta', 'beta']);
    expect(mixed).toEqual(['gamma', 'alpha', 'delta', 'beta'].map((text) => embeddingFor(text, 8)));
    expect(sentInputs()).toEqual([
      ['alpha', 'beta'],
      ['gamma', 'delta'],
    ]);
    expect(await embeddings.embedDocuments(['delta', 'gamma'])).toEqual([
      embeddingFor('delta', 8),
      embeddingFor('gamma', 8),
    ]);
    expect(ctx.server.count(EMBEDDINGS_PATH)).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 4, misses: 4 });
  });

  it('a text repeated in one call is embedded once; each position gets its own array', async () => {
    const embeddings = new CachedEmbeddings({ embeddings: embeddingsModel(ctx.server), cache: await makeCache(kind) });
    const vectors = await embeddings.embedDocuments(['same', 'other', 'same']);
    expect(sentInputs()).toEqual([['same', 'other']]);
    expect(vectors[0]).toEqual(vectors[2]);
    expect(vectors[0]).not.toBe(vectors[2]);
  });

  it('embedQuery is cached too (CacheBackedEmbeddings never caches queries), apart from documents', async () => {
    const embeddings = new CachedEmbeddings({ embeddings: embeddingsModel(ctx.server), cache: await makeCache(kind) });
    expect(await embeddings.embedQuery('what is llmemo?')).toEqual(embeddingFor('what is llmemo?', 8));
    expect(await embeddings.embedQuery('what is llmemo?')).toEqual(embeddingFor('what is llmemo?', 8));
    expect(ctx.server.count(EMBEDDINGS_PATH)).toBe(1);
    // Some providers embed a query differently from a document: separate entries.
    await embeddings.embedDocuments(['what is llmemo?']);
    expect(ctx.server.count(EMBEDDINGS_PATH)).toBe(2);
  });

  it('entries are namespaced by model and settings: another model or dimension never shares a vector', async () => {
    const cache = await makeCache(kind);
    const small = new CachedEmbeddings({ embeddings: embeddingsModel(ctx.server, 'text-embedding-3-small'), cache });
    const large = new CachedEmbeddings({ embeddings: embeddingsModel(ctx.server, 'text-embedding-3-large'), cache });
    const short = new CachedEmbeddings({
      embeddings: embeddingsModel(ctx.server, 'text-embedding-3-small', 4),
      cache,
    });
    await small.embedDocuments(['x']);
    await large.embedDocuments(['x']);
    expect(await short.embedDocuments(['x'])).toEqual([embeddingFor('x', 4)]);
    expect(await small.embedDocuments(['x'])).toEqual([embeddingFor('x', 8)]);
    expect(ctx.server.count(EMBEDDINGS_PATH)).toBe(3);
    expect(small.model).toBe('text-embedding-3-small');
    expect(small.provider).toBe('OpenAIEmbeddings');
  });

  it('survives API-key rotation', async () => {
    const cache = await makeCache(kind);
    const withKey = (apiKey: string) => {
      const model = embeddingsModel(ctx.server);
      (model as unknown as { apiKey: string }).apiKey = apiKey;
      return new CachedEmbeddings({ embeddings: model, cache });
    };
    await withKey('sk-one').embedQuery('rotate');
    await withKey('sk-two').embedQuery('rotate');
    expect(ctx.server.count(EMBEDDINGS_PATH)).toBe(1);
  });
});

/** An Embeddings whose calls are counted, for the failure cases. */
class CountingEmbeddings extends Embeddings {
  calls: string[][] = [];
  constructor(private readonly answer: (texts: string[]) => number[][] = (texts) => texts.map((t) => [t.length])) {
    super({});
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.calls.push(texts);
    return this.answer(texts);
  }
  async embedQuery(text: string): Promise<number[]> {
    this.calls.push([text]);
    return this.answer([text])[0]!;
  }
}

describe('CachedEmbeddings: options, modes and failures', () => {
  it('rejects bad options at construction', async () => {
    const cache = await makeCache('memory');
    expect(() => new CachedEmbeddings({ cache } as never)).toThrow(/needs \{ embeddings \}/);
    expect(() => new CachedEmbeddings({ embeddings: new CountingEmbeddings() } as never)).toThrow(/needs \{ cache \}/);
    expect(() => new CachedEmbeddings({ embeddings: new CountingEmbeddings(), cache, model: '' })).toThrow(/model/);
    expect(() => new CachedEmbeddings({ embeddings: new CountingEmbeddings(), cache, mode: 'x' as never })).toThrow(
      /mode must be one of/,
    );
  });

  it('a broken store: every call still answers from the provider', async () => {
    const broken = {
      get: async () => {
        throw new Error('down');
      },
      set: async () => {
        throw new Error('down');
      },
      delete: async () => false,
      clear: async () => {},
    };
    const inner = new CountingEmbeddings();
    const embeddings = new CachedEmbeddings({
      embeddings: inner,
      cache: await makeCache('memory', { store: broken as never, timeoutMs: 50 }),
    });
    expect(await embeddings.embedDocuments(['ab', 'abc'])).toEqual([[2], [3]]);
    expect(await embeddings.embedDocuments(['ab', 'abc'])).toEqual([[2], [3]]);
    expect(await embeddings.embedQuery('abcd')).toEqual([4]);
    expect(inner.calls).toHaveLength(3);
  });

  it('a corrupt entry is reported, recomputed and repaired', async () => {
    const cache = await makeCache('memory');
    const { errors, onError } = errorSink();
    const inner = new CountingEmbeddings();
    const embeddings = new CachedEmbeddings({ embeddings: inner, cache, provider: 'p', model: 'm', onError });
    await cache.set({ kind: 'embedding', provider: 'p', model: 'm', input: 'abc', params: { purpose: 'document' } }, [
      'not',
      'numbers',
    ]);
    expect(await embeddings.embedDocuments(['abc'])).toEqual([[3]]);
    expect(errors.map((e) => e.code)).toEqual(['CORRUPT_ENTRY']);
    // …and repaired: the next call is a hit.
    expect(await embeddings.embedDocuments(['abc'])).toEqual([[3]]);
    expect(inner.calls).toHaveLength(1);
  });

  it('a provider returning the wrong number of vectors gets no entries, and its answer is passed through', async () => {
    const inner = new CountingEmbeddings((texts) => texts.slice(1).map((t) => [t.length]));
    const embeddings = new CachedEmbeddings({ embeddings: inner, cache: await makeCache('memory') });
    expect(await embeddings.embedDocuments(['a', 'bb'])).toEqual([[2]]);
    await embeddings.embedDocuments(['a', 'bb']);
    expect(inner.calls).toEqual([
      ['a', 'bb'],
      ['a', 'bb'],
      ['a', 'bb'],
      ['a', 'bb'],
    ]);
  });

  it("mode 'replay' never calls the provider; 'read-only' never writes", async () => {
    const cache = await makeCache('memory');
    const inner = new CountingEmbeddings();
    await new CachedEmbeddings({ embeddings: inner, cache }).embedDocuments(['known']);
    const replay = new CachedEmbeddings({ embeddings: inner, cache, mode: 'replay' });
    expect(await replay.embedDocuments(['known'])).toEqual([[5]]);
    await expect(replay.embedDocuments(['known', 'unknown'])).rejects.toMatchObject({ code: 'CACHE_MISS' });
    await expect(replay.embedQuery('unknown')).rejects.toMatchObject({ code: 'CACHE_MISS' });
    expect(inner.calls).toHaveLength(1);

    const readOnly = new CachedEmbeddings({ embeddings: inner, cache, mode: 'read-only' });
    await readOnly.embedDocuments(['fresh']);
    await readOnly.embedDocuments(['fresh']);
    expect(inner.calls).toHaveLength(3);
  });

  it('TTL and namespaces from core apply', async () => {
    const cache = await makeCache('memory');
    const inner = new CountingEmbeddings();
    const shortLived = new CachedEmbeddings({ embeddings: inner, cache, ttl: 50 });
    await shortLived.embedQuery('ttl');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await shortLived.embedQuery('ttl');
    expect(inner.calls).toHaveLength(2);
    await new CachedEmbeddings({ embeddings: inner, cache, namespace: 'a' }).embedQuery('ns');
    await new CachedEmbeddings({ embeddings: inner, cache, namespace: 'b' }).embedQuery('ns');
    expect(inner.calls).toHaveLength(4);
  });
});
