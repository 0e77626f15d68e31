import { Embeddings, type EmbeddingsInterface } from '@langchain/core/embeddings';
import { type CacheRequest, isLlmemoError, LlmemoError, type Lookup } from '@llmemo/core';
import { isSecretName } from './llm-key.js';
import { asLlmemoError, type CacheBinding, type ResolvedBinding, resolveBinding } from './options.js';

export interface CachedEmbeddingsOptions extends CacheBinding {
  /** The embeddings to cache, e.g. `new OpenAIEmbeddings({ model: 'text-embedding-3-small' })`. */
  embeddings: EmbeddingsInterface;
  /** Provider label of the key. Default: the class name, e.g. 'OpenAIEmbeddings'. */
  provider?: string;
  /** Model label of the key. Default: the embeddings' `model` / `modelName` field. */
  model?: string;
  /**
   * More settings that change the vectors, added to the key. By default the key holds every string, number and
   * boolean field of the embeddings object (model, dimensions, stripNewLines, …) except credentials and transport
   * settings, plus its base URL.
   */
  params?: Record<string, unknown>;
}

/** Fields that never change a vector: batching, transport and retries. */
const TRANSPORT_FIELDS = new Set(['batchSize', 'encodingFormat', 'timeout', 'maxRetries', 'maxConcurrency']);

function settingsOf(embeddings: object): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(embeddings)) {
    if (TRANSPORT_FIELDS.has(name) || isSecretName(name)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') settings[name] = value;
  }
  const client = (embeddings as { clientConfig?: { baseURL?: unknown } }).clientConfig;
  if (typeof client?.baseURL === 'string') settings.baseURL = client.baseURL;
  return settings;
}

function isVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number');
}

/**
 * An `Embeddings` that caches another one per text: `embedDocuments` sends only the texts it has not seen (each
 * distinct text once) and returns every vector in the original order; `embedQuery` is cached too, apart from
 * documents, since some providers embed queries differently. Entries are keyed by provider, model and settings
 * (kind 'embedding'), so two models never share a vector.
 */
export class CachedEmbeddings extends Embeddings {
  readonly embeddings: EmbeddingsInterface;
  readonly provider: string;
  readonly model: string;
  private readonly binding: ResolvedBinding;
  private readonly params: Record<string, unknown>;

  constructor(options: CachedEmbeddingsOptions) {
    super({});
    this.binding = resolveBinding(options, 'CachedEmbeddings', ['embeddings', 'provider', 'model', 'params']);
    const { embeddings } = options;
    if (!embeddings || typeof embeddings.embedDocuments !== 'function' || typeof embeddings.embedQuery !== 'function') {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        'CachedEmbeddings needs { embeddings }: a LangChain Embeddings such as new OpenAIEmbeddings({ model }).',
      );
    }
    for (const name of ['provider', 'model'] as const) {
      const value = options[name];
      if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
        throw new LlmemoError('INVALID_OPTIONS', `CachedEmbeddings option ${name} must be a non-empty string.`);
      }
    }
    if (options.params !== undefined && (typeof options.params !== 'object' || options.params === null)) {
      throw new LlmemoError('INVALID_OPTIONS', 'CachedEmbeddings option params must be an object.');
    }
    const fields = embeddings as unknown as { model?: unknown; modelName?: unknown };
    const modelField = [fields.model, fields.modelName].find((v) => typeof v === 'string' && v.length > 0);
    this.embeddings = embeddings;
    this.provider = options.provider ?? (embeddings.constructor.name || 'embeddings');
    this.model = options.model ?? (modelField as string | undefined) ?? 'unknown';
    this.params = { ...settingsOf(embeddings), ...options.params };
  }

  private request(text: string, purpose: 'document' | 'query'): CacheRequest {
    return {
      kind: 'embedding',
      provider: this.provider,
      model: this.model,
      input: text,
      params: { ...this.params, purpose },
    };
  }

  /** Looks a text up; store trouble (not a replay miss) is a miss that will not be stored. */
  private async open(request: CacheRequest): Promise<Lookup<number[]> | undefined> {
    try {
      return await this.binding.cache.lookup<number[]>(request, this.binding.overrides);
    } catch (error) {
      if (isLlmemoError(error, 'CACHE_MISS')) throw error;
      this.binding.onError(asLlmemoError(error, 'STORE_UNAVAILABLE', 'An embedding lookup failed; treated as a miss'));
      return undefined;
    }
  }

  override async embedDocuments(documents: string[]): Promise<number[][]> {
    const distinct = [...new Set(documents)];
    const lookups = new Map<string, Lookup<number[]> | undefined>();
    await Promise.all(distinct.map(async (text) => lookups.set(text, await this.open(this.request(text, 'document')))));
    const vectors = new Map<string, number[]>();
    const missing: string[] = [];
    for (const text of distinct) {
      const found = lookups.get(text);
      if (found?.hit && isVector(found.value)) {
        vectors.set(text, found.value);
        continue;
      }
      if (found?.hit) {
        this.binding.onError(
          new LlmemoError('CORRUPT_ENTRY', 'A cached embedding is not a vector; it was recomputed.'),
        );
      }
      missing.push(text);
    }
    if (missing.length > 0) {
      try {
        const computed = await this.embeddings.embedDocuments(missing);
        if (computed.length !== missing.length || !computed.every(isVector)) {
          // The provider broke the one-vector-per-text contract: return exactly what it gives for the whole input.
          return this.embeddings.embedDocuments(documents);
        }
        const commits: Promise<unknown>[] = [];
        missing.forEach((text, i) => {
          const vector = computed[i]!;
          vectors.set(text, vector);
          const found = lookups.get(text);
          if (found && !found.hit) commits.push(found.commit(vector));
          else if (found?.hit) commits.push(this.overwrite(text, vector));
        });
        // Awaited (each bounded by the cache's timeoutMs) so the next call in this process reads these writes.
        await Promise.all(commits);
      } finally {
        // The misses not committed (the provider threw or broke its contract) end here: useStore() need not wait.
        for (const found of lookups.values()) if (found && !found.hit) found.release();
      }
    }
    // A text repeated in the input gets its own copy, so mutating one vector never changes another.
    const handedOut = new Set<string>();
    return documents.map((text) => {
      const vector = vectors.get(text)!;
      if (handedOut.has(text)) return [...vector];
      handedOut.add(text);
      return vector;
    });
  }

  /** Replaces an unreadable entry with the recomputed vector, as the mode allows. */
  private async overwrite(text: string, vector: number[]): Promise<void> {
    const { mode, ttl, namespace, noStore } = this.binding.call;
    if (mode === 'read-only' || mode === 'off' || mode === 'replay' || noStore) return;
    await this.binding.cache.set(this.request(text, 'document'), vector, { ttl, namespace });
  }

  override async embedQuery(document: string): Promise<number[]> {
    const result = await this.binding.cache.getOrCompute(
      this.request(document, 'query'),
      () => this.embeddings.embedQuery(document),
      { ...this.binding.overrides, cacheable: (vector) => isVector(vector) || 'the result is not a vector' },
    );
    if (!isVector(result.value)) return this.embeddings.embedQuery(document);
    return result.value;
  }
}
