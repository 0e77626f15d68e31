import { Keyv } from 'keyv';

/**
 * The Keyv every store of ours sits on: no key prefix (our keys carry their namespace already) and errors thrown to
 * the guarded store, which turns them into fail-open `error` events, instead of emitted and swallowed. `json`: the
 * store holds text, so Keyv's `{ value, expires }` wrapper goes through plain JSON (readable by SQLite's
 * json_extract and by any Redis client); off where the adapter takes the wrapper object itself (memory, file).
 */
export function rawKeyv(adapter: unknown, { json }: { json: boolean }): Keyv<string> {
  const keyv = new Keyv<string>({
    store: adapter as never,
    namespace: undefined,
    useKeyPrefix: false,
    serialize: json ? JSON.stringify : undefined,
    deserialize: json ? JSON.parse : undefined,
    throwOnErrors: true,
  });
  keyv.on('error', () => {});
  return keyv;
}
