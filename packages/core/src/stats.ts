/** Running counters for one cache instance (this process only). */
export interface CacheStats {
  hits: number;
  staleHits: number;
  misses: number;
  writes: number;
  errors: number;
  /** Calls that went straight to compute: mode 'off', or a request that cannot be keyed. */
  bypasses: number;
  /** Callers that shared another caller's in-flight computation instead of computing themselves. */
  coalesced: number;
  /** Values not stored: too large, unserializable, not cacheable, or noStore. */
  skips: number;
  evictions: number;
  bytesWritten: number;
  /** Tokens the hits did not spend (from the usage each entry recorded). */
  tokensSaved: { input: number; output: number };
  /** hits / (hits + misses); 0 before any lookup. */
  hitRate: number;
}

export class StatsCounter {
  hits = 0;
  staleHits = 0;
  misses = 0;
  writes = 0;
  errors = 0;
  bypasses = 0;
  coalesced = 0;
  skips = 0;
  evictions = 0;
  bytesWritten = 0;
  inputTokensSaved = 0;
  outputTokensSaved = 0;

  snapshot(): CacheStats {
    const lookups = this.hits + this.misses;
    return {
      hits: this.hits,
      staleHits: this.staleHits,
      misses: this.misses,
      writes: this.writes,
      errors: this.errors,
      bypasses: this.bypasses,
      coalesced: this.coalesced,
      skips: this.skips,
      evictions: this.evictions,
      bytesWritten: this.bytesWritten,
      tokensSaved: { input: this.inputTokensSaved, output: this.outputTokensSaved },
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
    };
  }
}
