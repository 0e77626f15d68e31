import { encodePng } from './png.js';
import { countTokens, nowSeconds, sha256 } from './text.js';

const SIDE = 4;

/** A 4x4 PNG whose pixels come from a hash of the prompt and the image's index, so each image is distinct and stable. */
export function imageFor(prompt: string, index: number): Buffer {
  const pixels = sha256(`${index}\u0000${prompt}`);
  const rgb = Buffer.alloc(SIDE * SIDE * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = pixels[i % pixels.length] ?? 0;
  return encodePng(SIDE, SIDE, rgb);
}

interface ImageRequest {
  model?: unknown;
  prompt: string;
  n?: unknown;
  size?: unknown;
  quality?: unknown;
  response_format?: unknown;
}

/**
 * The body of POST /v1/images/generations. GPT Image models always answer base64 and report token usage; DALL-E
 * models add a revised_prompt and answer with a URL unless b64_json was asked for, as the real API does.
 */
export function imagesResponse(body: ImageRequest, urlFor: (png: Buffer) => string) {
  const model = typeof body.model === 'string' ? body.model : 'dall-e-2';
  const count = typeof body.n === 'number' && body.n > 0 ? Math.floor(body.n) : 1;
  const images = Array.from({ length: count }, (_, index) => imageFor(body.prompt, index));
  if (model.startsWith('gpt-image') || model.startsWith('chatgpt-image')) {
    const textTokens = countTokens(body.prompt);
    const outputTokens = 272 * count;
    return {
      created: nowSeconds(),
      background: 'opaque',
      data: images.map((png) => ({ b64_json: png.toString('base64') })),
      output_format: 'png',
      quality: typeof body.quality === 'string' ? body.quality : 'low',
      size: typeof body.size === 'string' ? body.size : '1024x1024',
      usage: {
        input_tokens: textTokens,
        input_tokens_details: { image_tokens: 0, text_tokens: textTokens },
        output_tokens: outputTokens,
        total_tokens: textTokens + outputTokens,
      },
    };
  }
  const asUrl = body.response_format !== 'b64_json';
  return {
    created: nowSeconds(),
    data: images.map((png) => ({
      ...(model === 'dall-e-3' && { revised_prompt: body.prompt }),
      ...(asUrl ? { url: urlFor(png) } : { b64_json: png.toString('base64') }),
    })),
  };
}
