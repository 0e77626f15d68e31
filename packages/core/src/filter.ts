import { type Duration, parseDuration } from './duration.js';
import type { StoredEntryInfo } from './entry-codec.js';
import { LlmemoError } from './errors.js';
import { KEY_PREFIX, type KeyLabels, keyPrefix, parseKey } from './key.js';
import { isWellFormed, notWellFormed } from './labels.js';

/**
 * Which entries a purge, listing or export selects. Filters combine (AND). The scope is one namespace (`namespace`,
 * default: the cache's own) or every namespace (`all: true`).
 */
export interface EntryFilter {
  namespace?: string;
  /** Every namespace (instead of one). With no other filter, a purge deletes every llmemo entry in the store. */
  all?: boolean;
  kind?: string;
  provider?: string;
  /** The model id as requested. */
  model?: string;
  /** Entries written more than this long ago: ms, or '90s', '15m', '1h', '7d'. */
  olderThan?: Duration;
  /** The model id the provider reported (for model drift: a dated snapshot replaced the alias). */
  responseModel?: string;
}

const FILTER_NAMES = ['namespace', 'all', 'kind', 'provider', 'model', 'olderThan', 'responseModel'];
const LABEL_NAMES = ['kind', 'provider', 'model'] as const;

export interface ResolvedFilter {
  /** Every selected key starts with this (escaped labels: no LIKE or glob character can widen it). */
  prefix: string;
  /** Undefined when the scope is every namespace. */
  namespace: string | undefined;
  /** Label filters the prefix does not already express (checked on each parsed key). */
  labels: Partial<Pick<KeyLabels, 'kind' | 'provider' | 'model'>>;
  createdBefore: number | undefined;
  responseModel: string | undefined;
  /** Whether matching needs each entry's metadata (and so its stored value). */
  needsValues: boolean;
  /** True when the filter is the whole scope: a purge removes the scope's shared counters too. */
  wholeScope: boolean;
}

function label(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      `filter.${name} must be a non-empty string; got ${JSON.stringify(value)}.`,
    );
  }
  // An ill-formed label has no escaped form of its own: it could only select another label's entries.
  if (!isWellFormed(value)) throw new LlmemoError('INVALID_OPTIONS', notWellFormed(`filter.${name}`, value));
  return value;
}

export function resolveFilter(
  filter: EntryFilter | undefined,
  defaultNamespace: string,
  { destructive }: { destructive: boolean },
): ResolvedFilter {
  if (filter === undefined) filter = {};
  checkFilterShape(filter, destructive);
  const namespace = filter.all ? undefined : (label(filter.namespace, 'namespace') ?? defaultNamespace);
  const wanted: WantedLabels = {
    kind: label(filter.kind, 'kind'),
    provider: label(filter.provider, 'provider'),
    model: label(filter.model, 'model'),
  };
  const responseModel = label(filter.responseModel, 'responseModel');
  const createdBefore =
    filter.olderThan === undefined ? undefined : Date.now() - parseDuration(filter.olderThan, 'olderThan');
  const { prefix, labels } = scopePrefix(namespace, wanted);
  const needsValues = createdBefore !== undefined || responseModel !== undefined;
  const wholeScope = !needsValues && LABEL_NAMES.every((name) => wanted[name] === undefined);
  return { prefix, namespace, labels, createdBefore, responseModel, needsValues, wholeScope };
}

type WantedLabels = Record<(typeof LABEL_NAMES)[number], string | undefined>;

/** Throws unless the filter is an object of known options, non-empty for a purge, with a coherent scope. */
function checkFilterShape(filter: EntryFilter, destructive: boolean): void {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new LlmemoError('INVALID_OPTIONS', 'The filter must be an object such as { namespace: "tenant-42" }.');
  }
  for (const name of Object.keys(filter)) {
    if (!FILTER_NAMES.includes(name)) {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `The filter has no option '${name}'; use ${FILTER_NAMES.map((n) => `'${n}'`).join(', ')}.`,
      );
    }
  }
  const given = Object.entries(filter).filter(([, value]) => value !== undefined);
  if (destructive && given.length === 0) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      'purge needs a filter: { namespace }, { model }, { olderThan: "30d" }, … or { all: true } to delete every entry.',
    );
  }
  if (filter.all !== undefined && typeof filter.all !== 'boolean') {
    throw new LlmemoError('INVALID_OPTIONS', 'filter.all must be true or false.');
  }
  if (filter.all && filter.namespace !== undefined) {
    throw new LlmemoError('INVALID_OPTIONS', 'Use filter.namespace or filter.all, not both.');
  }
}

/**
 * The longest exact prefix: labels are ordered namespace:kind:provider:model, so a prefix can only carry a
 * leading run of them. The rest are checked key by key (still without reading values).
 */
function scopePrefix(
  namespace: string | undefined,
  wanted: WantedLabels,
): { prefix: string; labels: ResolvedFilter['labels'] } {
  const labels: ResolvedFilter['labels'] = {};
  if (namespace === undefined) {
    for (const name of LABEL_NAMES) if (wanted[name] !== undefined) labels[name] = wanted[name];
    return { prefix: KEY_PREFIX, labels };
  }
  const run: { namespace: string; kind?: string; provider?: string; model?: string } = { namespace };
  let contiguous = true;
  for (const name of LABEL_NAMES) {
    const value = wanted[name];
    if (value === undefined) {
      contiguous = false;
    } else if (contiguous) {
      run[name] = value;
    } else {
      labels[name] = value;
    }
  }
  return { prefix: keyPrefix(run), labels };
}

/** Whether a key (already known to start with the prefix) matches the label filters. */
export function matchesKey(filter: ResolvedFilter, key: string): boolean {
  const labels = parseKey(key);
  if (!labels) return false;
  if (filter.labels.kind !== undefined && labels.kind !== filter.labels.kind) return false;
  if (filter.labels.provider !== undefined && labels.provider !== filter.labels.provider) return false;
  if (filter.labels.model !== undefined && labels.model !== filter.labels.model) return false;
  return true;
}

/** Whether an entry's metadata matches the value filters (olderThan, responseModel). */
export function matchesMeta(
  filter: ResolvedFilter,
  meta: Pick<StoredEntryInfo, 'createdAt' | 'responseModel'>,
): boolean {
  if (filter.createdBefore !== undefined && !(meta.createdAt < filter.createdBefore)) return false;
  if (filter.responseModel !== undefined && meta.responseModel !== filter.responseModel) return false;
  return true;
}
