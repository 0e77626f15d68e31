import { countTokens, sha256 } from './text.js';

/**
 * A unit-length vector derived only from the text. Components are rounded to float32 so the base64 encoding (float32
 * little-endian, which the `openai` client asks for by default) decodes to exactly the numbers the float encoding sends.
 */
export function embeddingFor(text: string, dimensions: number): number[] {
  const raw: number[] = [];
  for (let block = 0; raw.length < dimensions; block++) {
    const digest = sha256(`${block}\u0000${text}`);
    for (let offset = 0; offset + 4 <= digest.length && raw.length < dimensions; offset += 4) {
      raw.push(digest.readUInt32LE(offset) / 0xffffffff - 0.5);
    }
  }
  const norm = Math.sqrt(raw.reduce((sum, value) => sum + value * value, 0)) || 1;
  return raw.map((value) => Math.fround(value / norm));
}

export function toBase64Float32(vector: readonly number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  for (const [index, value] of vector.entries()) buffer.writeFloatLE(value, index * 4);
  return buffer.toString('base64');
}

/** The inputs as strings; token-id arrays are accepted by the real API, so they are hashed by their JSON form. */
export function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  // A flat array of numbers is one tokenized input, not many.
  if (input.every((item) => typeof item === 'number')) return [JSON.stringify(input)];
  return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}

export function embeddingsResponse(
  body: { model?: unknown; dimensions?: unknown; encoding_format?: unknown },
  inputs: readonly string[],
  defaultDimensions: number,
) {
  const dimensions =
    typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.floor(body.dimensions) : defaultDimensions;
  const base64 = body.encoding_format === 'base64';
  const tokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
  return {
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = embeddingFor(text, dimensions);
      return { object: 'embedding', index, embedding: base64 ? toBase64Float32(vector) : vector };
    }),
    model: typeof body.model === 'string' ? body.model : '',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
