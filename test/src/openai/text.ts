import { createHash } from 'node:crypto';

/** Token counts are whitespace-separated words: crude, but deterministic and easy to predict in a test. */
export function countTokens(text: string): number {
  const words = text.trim();
  return words === '' ? 0 : words.split(/\s+/).length;
}

/** Splits text word by word, each piece keeping its leading whitespace, so the pieces join back to the text. */
export function splitWords(text: string): string[] {
  const pieces: string[] = text.match(/\s*\S+/g) ?? [];
  const joined = pieces.join('');
  // Trailing whitespace (or an all-whitespace text) would otherwise be lost.
  if (joined.length < text.length) {
    const rest = text.slice(joined.length);
    if (pieces.length > 0) pieces[pieces.length - 1] += rest;
    else pieces.push(rest);
  }
  return pieces;
}

export function sha256(input: string | Buffer): Buffer {
  return createHash('sha256').update(input).digest();
}

// Process-wide so ids stay unique across several servers in one test file, as real ids are.
let counter = 0;

/** A fresh id per call (e.g. 'chatcmpl-llmemo17'), so a replayed response is told apart from a new one. */
export function nextId(prefix: string): string {
  counter += 1;
  return `${prefix}llmemo${counter}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
