/**
 * `{ ...source }`, as an object that stays cheap to add properties to. On Node 20 (V8 11.3), adding a property to
 * the result of a spread (`{ ...source, extra }`, or setting a new one on it later) costs 1–2 µs per object, because
 * the clone's hidden class is not reused; after Object.assign's copy it costs what it does on any object (~0.1 µs
 * for the copy). The hit path builds several such objects per call. Same own enumerable properties as a spread,
 * getters read once; a source with an own `__proto__` property (JSON.parse makes those), which Object.assign would
 * turn into the copy's prototype, is spread instead.
 */
export function copyOf<T extends object>(source: T | null | undefined): Record<string, unknown> {
  if (source === null || source === undefined) return {};
  if (Object.hasOwn(source, '__proto__')) return { ...source } as Record<string, unknown>;
  return Object.assign({}, source) as Record<string, unknown>;
}

/** `{ ...source, [name]: value }` (see copyOf). */
export function withProperty<T extends object>(source: T | null | undefined, name: string, value: unknown) {
  const copy = copyOf(source);
  copy[name] = value;
  return copy;
}

/**
 * `copyOf(source)` without the own properties `skip` names: instead of a spread and `delete`, which turns the copy
 * into a slow dictionary that every later walk (core keys the call by walking it) pays for.
 */
export function copyWithout(source: object, skip: (name: string) => boolean): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(source)) {
    if (skip(name)) continue;
    const value = (source as Record<string, unknown>)[name];
    // As in copyOf: an own `__proto__` stays data on the copy, never its prototype.
    if (name === '__proto__')
      Object.defineProperty(copy, name, { value, enumerable: true, writable: true, configurable: true });
    else copy[name] = value;
  }
  return copy;
}
