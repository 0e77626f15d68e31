import type { ComputeOptions } from './cache-types.js';
import { encode } from './codec.js';
import type { EntryCodec } from './entry-codec.js';
import { computeDuration, ENVELOPE_VERSION, type EntryMeta, type EntryMetadata, type Envelope } from './envelope.js';
import { describeError, toLlmemoError } from './errors.js';
import type { GuardedStore } from './guarded-store.js';
import type { DerivedKey } from './key.js';
import type { ResolvedCallOptions } from './options.js';
import type { Recorder } from './recorder.js';
import type { CacheRequest } from './request.js';

/** An entry ready to store: its metadata, and its body already encoded by the value codec. */
export interface PreparedEntry {
  meta: EntryMeta;
  bodyJson: string;
}

type EntryTiming = Pick<ResolvedCallOptions, 'ttl' | 'staleWhileRevalidate' | 'staleIfError'>;

/**
 * Writes off the caller's critical path: prepares an entry from a computed value, seals it (compression,
 * encryption), checks its size and sends it through the guarded store, tracking every write so `flush()` and
 * `close()` can wait for them. A write never fails its caller: each outcome is a `write`, `skip` or `error` event.
 */
export class WriteBehind {
  private readonly pending = new Set<Promise<unknown>>();
  /** Writes still landing, by key, so a read of the key can wait for its own write (see `landing`). */
  private readonly byKey = new Map<string, Promise<unknown>>();
  private sealed = false;

  constructor(
    private readonly guarded: GuardedStore,
    private readonly codec: EntryCodec,
    private readonly recorder: Recorder,
    private readonly maxEntryBytes: number,
    /** With `recordRequest`: the request as the entry keeps it. */
    private readonly describe?: (request: CacheRequest) => unknown,
  ) {}

  /** The store operations still running. */
  get operations(): readonly Promise<unknown>[] {
    return [...this.pending];
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Waits for every store operation started so far, including those started while waiting (each is bounded). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** The store is closing: later writes (a refresh that outlived close()) are dropped. */
  seal(): void {
    this.sealed = true;
  }

  private track(operation: Promise<unknown>): void {
    this.pending.add(operation);
    const untrack = () => this.pending.delete(operation);
    operation.then(untrack, untrack);
  }

  /** The entry for a value, or undefined (a `skip` event) when the value cannot be encoded. */
  prepare<T>(
    derived: DerivedKey,
    request: CacheRequest,
    value: T,
    call: EntryTiming,
    metadata: EntryMetadata | undefined,
  ): PreparedEntry | undefined {
    const now = Date.now();
    const ttl = call.ttl;
    const meta: EntryMeta = {
      v: ENVELOPE_VERSION,
      kind: request.kind,
      ns: derived.namespace,
      provider: request.provider,
      model: request.model,
      digest: derived.digest,
      createdAt: now,
      expiresAt: ttl === null ? null : now + ttl,
    };
    // Kept past expiry for as long as a stale answer may still be served (the store's own TTL follows this).
    const keep = Math.max(call.staleWhileRevalidate, call.staleIfError);
    if (ttl !== null && keep > 0) meta.staleUntil = now + ttl + keep;
    if (request.specVersion !== undefined) meta.specVersion = request.specVersion;
    if (metadata?.responseModel !== undefined) meta.responseModel = metadata.responseModel;
    if (metadata?.usage !== undefined) meta.usage = metadata.usage;
    const computeMs = computeDuration(metadata?.computeMs);
    if (computeMs !== undefined) meta.computeMs = computeMs;
    try {
      if (this.describe) meta.request = this.describe(request);
      return { meta, bodyJson: encode(value) };
    } catch (error) {
      this.recorder.skip('UNSERIALIZABLE_VALUE', `The value cannot be stored: ${describeError(error)}`, derived.key);
      return undefined;
    }
  }

  /** Seals and stores a prepared entry (tracked); resolves whether it was stored. */
  write(derived: DerivedKey, prepared: PreparedEntry, ttl: number | null): Promise<boolean> {
    const operation = this.persist(derived, prepared, ttl);
    this.pending.add(operation);
    this.byKey.set(derived.key, operation);
    // One handler for both maps (`finally` costs three promises to `then`'s one, and every miss writes).
    const settled = () => {
      this.pending.delete(operation);
      if (this.byKey.get(derived.key) === operation) this.byKey.delete(derived.key);
    };
    operation.then(settled, settled);
    return operation;
  }

  /** The write of this key still landing, if any (it never rejects, and is bounded by the store timeout). */
  landing(key: string): Promise<unknown> | undefined {
    return this.byKey.get(key);
  }

  private async persist(derived: DerivedKey, prepared: PreparedEntry, ttl: number | null): Promise<boolean> {
    let text: string;
    try {
      // Plain entries need no await (sealing may compress asynchronously): one microtask turn less per miss.
      text = this.codec.seals
        ? await this.codec.serialize(prepared.meta, prepared.bodyJson, derived.key)
        : this.codec.inline(prepared.meta, prepared.bodyJson);
    } catch (error) {
      this.recorder.error(
        'encode',
        toLlmemoError(error, 'UNSERIALIZABLE_VALUE', 'The entry could not be sealed'),
        derived.key,
      );
      return false;
    }
    const bytes = Buffer.byteLength(text);
    if (bytes > this.maxEntryBytes) {
      this.recorder.skip(
        'ENTRY_TOO_LARGE',
        `The entry is ${bytes} bytes, over maxEntryBytes (${this.maxEntryBytes}); it was not stored. Raise maxEntryBytes to cache values this large.`,
        derived.key,
      );
      return false;
    }
    // A refresh that outlived close() has nowhere to write.
    if (this.sealed) return false;
    if (!this.guarded.allowed()) {
      this.recorder.skip('STORE_UNAVAILABLE', 'The circuit breaker is open: the store is being skipped.', derived.key);
      return false;
    }
    const storeTtl =
      prepared.meta.staleUntil != null ? Math.max(1, prepared.meta.staleUntil - Date.now()) : (ttl ?? undefined);
    if (!(await this.guarded.set(derived.key, text, storeTtl))) return false;
    this.recorder.written(derived, prepared.meta, bytes, ttl);
    return true;
  }

  /** Whether this call may write at all; when not, says why (a `skip` event). */
  private writable(derived: DerivedKey, call: ResolvedCallOptions): boolean {
    if (call.mode !== 'read-only' && !call.noStore && call.ttl !== 0) return true;
    this.recorder.skip(
      'NO_STORE',
      call.mode === 'read-only' ? "mode 'read-only' never writes." : 'noStore was set for this call.',
      derived.key,
    );
    return false;
  }

  /**
   * The write after a compute: checks the adapter's `cacheable` verdict and the call's mode, then writes in the
   * background. Returns the encoded body (so coalesced callers decode their own copies); `done` runs once the write
   * settled or was skipped.
   */
  afterCompute<T>(
    derived: DerivedKey,
    request: CacheRequest,
    value: T,
    call: ResolvedCallOptions,
    options: Pick<ComputeOptions<T>, 'cacheable' | 'metadata'>,
    done: () => void,
  ): string | undefined {
    const verdict = options.cacheable ? options.cacheable(value) : true;
    if (verdict !== true) {
      this.recorder.skip(
        'NOT_CACHEABLE',
        typeof verdict === 'string' ? verdict : 'The adapter marked this result as not cacheable.',
        derived.key,
      );
      done();
      return undefined;
    }
    const prepared = this.prepare(derived, request, value, call, options.metadata?.(value));
    if (prepared === undefined) {
      done();
      return undefined;
    }
    if (!this.writable(derived, call)) {
      done();
      return prepared.bodyJson;
    }
    this.write(derived, prepared, call.ttl).then(done, done);
    return prepared.bodyJson;
  }

  /** A two-phase lookup's commit: the value arrived complete. Resolves whether it was stored. */
  async commit<T>(
    derived: DerivedKey,
    request: CacheRequest,
    value: T,
    call: ResolvedCallOptions,
    metadata: EntryMetadata | undefined,
  ): Promise<boolean> {
    if (!this.writable(derived, call)) return false;
    const prepared = this.prepare(derived, request, value, call, metadata);
    if (prepared === undefined) return false;
    return this.write(derived, prepared, call.ttl);
  }

  /**
   * Re-writes an entry read with a previous encryption key under the current one, keeping its expiry. Found under a
   * previous key's digest (`from`), it moves to the current digest, and the old copy is deleted once the new one is
   * written, so no ciphertext under the retired key outlives its first read.
   */
  rewrite<T>(derived: DerivedKey, entry: Envelope<T>, bodyJson: string, from?: string): void {
    const { body: _body, ...meta } = { ...entry, digest: derived.digest };
    const ttl = entry.expiresAt === null ? null : entry.expiresAt - Date.now();
    if (ttl !== null && ttl <= 0) return;
    this.write(derived, { meta, bodyJson }, ttl).then(
      (written) => {
        if (written && from !== undefined) this.discard(from);
      },
      () => {},
    );
  }

  /** Deletes an unreadable entry in the background (tracked; a failure is reported). */
  discard(key: string): void {
    this.track(this.guarded.delete(key));
  }
}
