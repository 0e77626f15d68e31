// The canonical form of a string, against a reference written from the spec (packages/core/README.md, rules 2–3):
// prose gets CRLF/CR → LF, NFC and trimmed ends; parameters stay byte for byte; both are JSON string literals. The
// writer takes a shortcut for printable ASCII; this checks the shortcut and the general path agree with the spec.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, DEFAULT_NORMALIZATION, sortedKeys } from '../src/canonicalize.js';

const prose = (text: string) => JSON.stringify(text.replace(/\r\n?/g, '\n').normalize('NFC').trim());

// Printable ASCII, the characters JSON escapes, CR/LF/tab, whitespace trim() knows, combining marks and surrogates.
const characters = fc.oneof(
  fc.string({ unit: 'grapheme-ascii' }),
  fc.constantFrom('\t', '\r', '\n', '\r\n', '"', '\\', '\u0000', '\u001f', '\u007f', '\u00a0', '\u2028', '\ufeff'),
  fc.constantFrom('e\u0301', '\u00e9', '\ud83d\ude00', '\ud800', '\udc00', 'Å', 'A\u030a'),
  fc.string({ unit: 'binary' }),
);
const texts = fc.array(characters, { maxLength: 12 }).map((parts) => parts.join(''));

describe('canonical strings', () => {
  it('prose: line endings, NFC and trimmed ends, as a JSON string', () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(canonicalize(text, DEFAULT_NORMALIZATION)).toBe(prose(text));
        expect(canonicalize({ content: text }, DEFAULT_NORMALIZATION)).toBe(`{"content":${prose(text)}}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('parameters and non-prose fields: byte for byte, as a JSON string', () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(canonicalize({ id: text }, DEFAULT_NORMALIZATION)).toBe(
          `{"id":${JSON.stringify(text.replace(/\r\n?/g, '\n').normalize('NFC'))}}`,
        );
        expect(canonicalize({ id: text }, null)).toBe(`{"id":${JSON.stringify(text)}}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the characters the ASCII shortcut must not pass: tab, CR, quote, backslash, controls', () => {
    expect(canonicalize({ id: 'a\tb' }, null)).toBe('{"id":"a\\tb"}');
    expect(canonicalize(' a\r\nb ', DEFAULT_NORMALIZATION)).toBe('"a\\nb"');
    expect(canonicalize({ id: 'say "hi" \\ \u0001' }, null)).toBe('{"id":"say \\"hi\\" \\\\ \\u0001"}');
  });
});

describe('sortedKeys', () => {
  it('orders keys exactly as Array.prototype.sort does, small objects and large', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 4 }), { maxLength: 40 }), (names) => {
        const object = Object.fromEntries(names.map((name, index) => [name, index]));
        expect(sortedKeys(object)).toEqual(Object.keys(object).sort());
      }),
      { numRuns: 2000 },
    );
  });
});
