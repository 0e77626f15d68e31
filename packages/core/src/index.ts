export type { BreakerOptions, BreakerState } from './breaker.js';
export { CircuitBreaker } from './breaker.js';
export { createCache, ResponseCache } from './cache.js';
export type {
  CacheEntry,
  CacheOptions,
  CacheResult,
  ComputeOptions,
  InspectedEntry,
  Logger,
  Lookup,
  LookupOptions,
  StoredStats,
} from './cache-types.js';
export type { TextNormalization } from './canonicalize.js';
export { canonicalize, DEFAULT_NORMALIZATION, NO_NORMALIZATION } from './canonicalize.js';
export { decode, encode } from './codec.js';
export type { CompressionAlgorithm, CompressionOption, CompressionSettings } from './compression.js';
export { DEFAULT_COMPRESSION_THRESHOLD } from './compression.js';
export type { CounterField } from './counters.js';
export { COUNTER_FIELDS, emptyCounters } from './counters.js';
export type { Duration, DurationBounds } from './duration.js';
export { MAX_DURATION_MS, MAX_TIMER_MS, parseDuration, parseTtl } from './duration.js';
export type { EncryptionOptions, KeyMaterial } from './encryption.js';
export { ENCRYPTION_KEY_ENV, keyId, PREVIOUS_KEYS_ENV, parseKeyMaterial } from './encryption.js';
export { endpointLabel, endpointOfUrl, isCredentialName } from './endpoint.js';
export type { StoredEntryInfo } from './entry-codec.js';
export { readEntryMeta } from './entry-codec.js';
export type { EntryGroup, EntrySummary, Histogram, SummarizedEntry } from './entry-summary.js';
export { DURATION_BOUNDS, EntrySummarizer, summarizedEntry, summarizeEntries } from './entry-summary.js';
export { ENV_OPTIONS, withEnvironment } from './env-options.js';
export type { BodyEncoding, EntryMeta, EntryMetadata, Envelope, TokenUsage } from './envelope.js';
export { computeDuration, ENVELOPE_VERSION, validateEnvelope } from './envelope.js';
export type { LlmemoErrorCode } from './errors.js';
export { isLlmemoError, LlmemoError } from './errors.js';
export type {
  BreakerEvent,
  CacheEvents,
  CoalescedEvent,
  ErrorEvent,
  EvictEvent,
  HitEvent,
  MissEvent,
  SkipEvent,
  StoreEvent,
  WriteEvent,
} from './events.js';
export { sha256Hex } from './file-token.js';
export type { EntryFilter } from './filter.js';
export type { HitRow } from './hits.js';
export type { KeyLabels } from './key.js';
export {
  DEFAULT_EXCLUDED_PARAMS,
  DEFAULT_HEADER_ALLOWLIST,
  escapeLabel,
  KEY_PREFIX,
  KEY_VERSION,
  keyPrefix,
  parseKey,
  unescapeLabel,
} from './key.js';
export { isWellFormed } from './labels.js';
export type { EntryInfo, ExportRecord, ImportResult } from './maintenance.js';
export type { MeterProviderLike, MetricsOptions } from './metrics.js';
export { copyOf, copyWithout, withProperty } from './object-copy.js';
export type { CacheMode, CallOptions, NormalizeOption, ResolvedCallOptions } from './options.js';
export {
  CACHE_MODES,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TTL_MS,
  resolveCallOptions,
} from './options.js';
export type { RequestInput } from './prepared.js';
export { PreparedRequest } from './prepared.js';
export type { CacheRequest } from './request.js';
export type { RangeWindow, SeriesResolution, SeriesRow, StatsRange } from './series.js';
export {
  HOUR_MS,
  MINUTE_MS,
  rangeWindow,
  resolveRange,
  SERIES_RETENTION_MS,
  STATS_RANGES,
  splitDeltas,
} from './series.js';
export type { CacheStats, CounterTotals, ModelPrice, ModelStats, PriceTable } from './stats.js';
export { cost, resolvePrices, totalCounters } from './stats.js';
export type { SeriesPoint, StoredSeries, StoredStatsFilter } from './stored-stats.js';
export { readStoredSeries, STORE_WIDE } from './stored-stats.js';
export type { FileStoreOptions } from './stores/file.js';
export { FileStore, filePath } from './stores/file.js';
export type { LocalTierOptions } from './stores/local-tier.js';
export { DEFAULT_LOCAL_MAX_BYTES, DEFAULT_LOCAL_MAX_ENTRIES, LocalTier } from './stores/local-tier.js';
export type { MemoryStoreOptions } from './stores/memory.js';
export { createMemoryStore, LruMapStore, MemoryStore } from './stores/memory.js';
export type { RedisStoreOptions } from './stores/redis.js';
export { RedisStore, SERIES_PREFIX, STATS_PREFIX } from './stores/redis.js';
export type { KeyvStorageAdapterLike, StoreInput } from './stores/resolve.js';
export { resolveStore } from './stores/resolve.js';
export type { SqliteStoreOptions } from './stores/sqlite.js';
export { SqliteStore } from './stores/sqlite.js';
export type { CacheStore, CounterRow, ScannedEntry } from './stores/store.js';
export { CorruptStoredValue, KeyvStore } from './stores/store.js';
export type {
  FlightListener,
  FlightOutcome,
  FlightSource,
  FlightTicket,
  JoinOptions,
  PushSource,
  StreamFlightOptions,
} from './stream-flight.js';
export { StreamFlight } from './stream-flight.js';
export type { StoreToolCalls, ToolCallPolicy } from './tool-calls.js';
export { resolveStoreToolCalls, toolCallVerdict } from './tool-calls.js';
export { isTransientError } from './transient.js';
export type { UnusedFilter } from './unused.js';
