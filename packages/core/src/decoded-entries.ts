import { copyDecoded } from './codec.js';
import type { Envelope } from './envelope.js';

/** What one stored text opened to, kept as a template that is never handed out itself. */
interface Decoded {
  text: string;
  entry: Envelope<unknown>;
}

/** Texts longer than this are decoded every time: copying them is no cheaper and they would crowd out the rest. */
const MAX_TEXT = 256 * 1024;

/**
 * The last entries this cache decoded, by stored key, so a repeated hit skips JSON.parse, tag revival and (for
 * sealed entries) decryption and decompression, and gets a deep copy of the decoded entry instead (~3–10× cheaper
 * for a typical answer; every hit still gets its own objects). Reused only when the store returns the very same
 * text under the very same key: the copy is then exactly what decoding that text again would give, and a
 * rewritten, refreshed or tampered entry (different text) is decoded afresh. Per cache instance, so per keyring.
 * Bounded by count and by the characters of the texts it holds.
 */
export class DecodedEntries {
  private readonly entries = new Map<string, Decoded>();
  private chars = 0;

  constructor(
    private readonly maxEntries = 1024,
    private readonly maxChars = 8 * 1024 * 1024,
  ) {}

  /** A copy of the entry `text` decoded to under `key`, or undefined when that text was not decoded here. */
  get<T>(key: string, text: string): Envelope<T> | undefined {
    const known = this.entries.get(key);
    if (known === undefined || known.text !== text) return undefined;
    return copyDecoded(known.entry) as Envelope<T>;
  }

  /** Keeps a private copy of `entry`, decoded from `text` under `key`. The oldest entries make room. */
  remember(key: string, text: string, entry: Envelope<unknown>): void {
    if (text.length > MAX_TEXT) return;
    this.forget(key);
    this.entries.set(key, { text, entry: copyDecoded(entry) });
    this.chars += text.length;
    while (this.entries.size > this.maxEntries || this.chars > this.maxChars) {
      this.forget(this.entries.keys().next().value!);
    }
  }

  forget(key: string): void {
    const known = this.entries.get(key);
    if (known === undefined) return;
    this.entries.delete(key);
    this.chars -= known.text.length;
  }
}
