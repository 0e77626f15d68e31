import { type DerivedKey, deriveKey, type KeyDerivation } from './key.js';
import type { CacheRequest } from './request.js';

/** What a prepared request holds. Never handed out: only the cache that issued the handle reads it. */
interface PreparedParts {
  request: CacheRequest;
  /** The cache instance that derived the key (its namespace, normalization, key options and digest secret). */
  owner: object;
  /** The store binding current when it was derived: a handle from before `useStore()` is not honoured after it. */
  binding: object;
  /** Undefined when the key must be derived on every call (a custom `key` function may read per-call state). */
  derived: DerivedKey | undefined;
}

let issue: (parts: PreparedParts) => PreparedRequest;
let partsOf: (handle: PreparedRequest) => PreparedParts;

/**
 * A request whose key its cache derived once (`cache.prepare(request)`), for an adapter that sees the same exact
 * inputs again and again (LangChain's `(prompt, llmKey)` strings) and memoizes the handle by them, so a hit skips
 * the canonical walk and the SHA-256. Opaque: its key lives in a private field, set only by the cache, so no
 * caller can make one up or point one at another request's entry. The cache that issued it honours its key only
 * while nothing that goes into the key has changed (same cache instance, so the same namespace, key options and
 * digest secret; the same store; a call under the same namespace); otherwise, or given to another cache, it is
 * just its request, keyed afresh. The request object must not be changed after it was prepared.
 */
export class PreparedRequest {
  // A private field, so TypeScript treats the class nominally too: a plain object is never a PreparedRequest.
  readonly #parts: PreparedParts;

  private constructor(parts: PreparedParts) {
    this.#parts = parts;
  }

  /** The request it was prepared from. */
  get request(): CacheRequest {
    return this.#parts.request;
  }

  static {
    issue = (parts) => new PreparedRequest(parts);
    partsOf = (handle) => handle.#parts;
  }

  /** True for a handle a cache issued (a brand check on the private field: an imitation fails it). */
  static is(value: unknown): value is PreparedRequest {
    return typeof value === 'object' && value !== null && #parts in value;
  }
}

/** Where a request goes: the request itself, or a handle its cache prepared. */
export type RequestInput = CacheRequest | PreparedRequest;

/**
 * `cache.prepare`: the request with its key derived now. Left without one (keyed on every call) under a custom
 * `key` function, which may read per-call state such as the tenant, and for a request that cannot be keyed (each
 * call then bypasses with its own `skip` event, as the plain request would).
 */
export function prepare(
  request: CacheRequest,
  owner: object,
  binding: object,
  namespace: string,
  derivation: KeyDerivation,
): PreparedRequest {
  let derived: DerivedKey | undefined;
  if (!derivation.custom) {
    try {
      derived = deriveKey(request, namespace, derivation);
    } catch {
      derived = undefined;
    }
  }
  return issue({ request, owner, binding, derived });
}

/** `cache.key`: the handle's key when `owner` may honour it under `namespace`, else derived (or thrown) now. */
export function keyOf(
  input: CacheRequest | PreparedRequest,
  owner: object,
  binding: object,
  namespace: string,
  derivation: KeyDerivation,
): DerivedKey {
  const known = knownKey(input, owner, binding);
  return known !== undefined && known.namespace === namespace
    ? known
    : deriveKey(requestOf(input), namespace, derivation);
}

/** The plain request behind a request or a handle. */
export function requestOf(input: CacheRequest | PreparedRequest): CacheRequest {
  return PreparedRequest.is(input) ? partsOf(input).request : input;
}

/**
 * The key a handle carries, when `owner` issued it on `binding`; undefined for a plain request, another cache's
 * handle, a handle from before a store swap, or one whose key is derived per call. The read path still checks the
 * call's namespace against the key's.
 */
export function knownKey(
  input: CacheRequest | PreparedRequest,
  owner: object,
  binding: object,
): DerivedKey | undefined {
  if (!PreparedRequest.is(input)) return undefined;
  const parts = partsOf(input);
  return parts.owner === owner && parts.binding === binding ? parts.derived : undefined;
}
