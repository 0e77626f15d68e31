export { createCache, ResponseCache } from './cache.js';
export type { CacheEntry, CacheOptions, CacheResult, ComputeOptions, Logger } from './cache.js';
export type { CacheRequest } from './request.js';
export type { CacheMode, CallOptions, NormalizeOption, ResolvedCallOptions } from './options.js';
export { CACHE_MODES, DEFAULT_TTL_MS, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_ENTRY_BYTES, resolveCallOptions } from './options.js';
export { LlmemoError, isLlmemoError } from './errors.js';
export type { LlmemoErrorCode } from './errors.js';
export { parseDuration, parseTtl } from './duration.js';
export type { Duration } from './duration.js';
export { canonicalize, DEFAULT_NORMALIZATION, NO_NORMALIZATION, sha256Hex } from './canonicalize.js';
export type { TextNormalization } from './canonicalize.js';
export {
  KEY_VERSION,
  KEY_PREFIX,
  DEFAULT_EXCLUDED_PARAMS,
  DEFAULT_HEADER_ALLOWLIST,
  escapeLabel,
  unescapeLabel,
  parseKey,
  keyPrefix,
} from './key.js';
export type { KeyLabels } from './key.js';
export { encode, decode } from './codec.js';
export { ENVELOPE_VERSION, validateEnvelope } from './envelope.js';
export type { Envelope, EntryMetadata, TokenUsage } from './envelope.js';
export type {
  CacheEvents,
  CoalescedEvent,
  ErrorEvent,
  HitEvent,
  MissEvent,
  SkipEvent,
  WriteEvent,
} from './events.js';
export type { CacheStats } from './stats.js';
export { resolveStore } from './stores/resolve.js';
export type { StoreInput, KeyvStorageAdapterLike } from './stores/resolve.js';
export type { CacheStore } from './stores/store.js';
export { KeyvStore } from './stores/store.js';
export { createMemoryStore, LruMapStore } from './stores/memory.js';
export type { MemoryStoreOptions } from './stores/memory.js';
export { SqliteStore } from './stores/sqlite.js';
export type { SqliteStoreOptions } from './stores/sqlite.js';
export { RedisStore } from './stores/redis.js';
export type { RedisStoreOptions } from './stores/redis.js';
