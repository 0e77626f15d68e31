// Issue 10, item 10, through the real @ai-sdk/openai provider and the local OpenAI-compatible server (it echoes the
// last user text, so an answer served for another prompt is caught by its value). Before key spec v2, every string
// starting with `data:` was hashed by its decoded bytes, so these two prompts shared one entry.
import { useOpenAITestServer } from '@llmemo/test-support';
import { generateText } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { cached, closeCaches, llmemoOf, newCache, PERSISTENT_STORES, provider } from './helpers.js';

const server = useOpenAITestServer();
afterEach(closeCaches);

const CHAT = '/v1/chat/completions';
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);

describe.each(PERSISTENT_STORES)('data: URLs through cacheMiddleware on %s', (store) => {
  it('a prompt that reads like a data URL is text: two such prompts get their own answers', async () => {
    const cache = newCache(store);
    const model = cached(provider(server).chat('gpt-4o-mini'), cache);
    const prompts = ['data:,hello', 'data:text/html;base64,aGVsbG8=', 'data:text/plain,hello'];
    for (const [index, prompt] of prompts.entries()) {
      const result = await generateText({ model, prompt });
      await cache.flush();
      expect(result.text).toBe(`Echo: ${prompt}`);
      expect(llmemoOf(result.providerMetadata)?.hit).toBe(false);
      expect(server.count(CHAT)).toBe(index + 1);
    }
    // Each is still cached under its own key.
    const again = await generateText({ model, prompt: prompts[1]! });
    expect(again.text).toBe(`Echo: ${prompts[1]}`);
    expect(llmemoOf(again.providerMetadata)?.hit).toBe(true);
    expect(server.count(CHAT)).toBe(prompts.length);
  });

  it('one image is one key as bytes or as a data URL; one changed byte is a miss', async () => {
    const cache = newCache(store);
    const model = cached(provider(server).chat('gpt-4o-mini'), cache);
    const ask = (image: Uint8Array | string, mediaType?: string) =>
      generateText({
        model,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture?' },
              { type: 'image', image, ...(mediaType ? { mediaType } : {}) },
            ],
          },
        ],
      });
    const base64 = Buffer.from(PNG).toString('base64');
    await ask(PNG, 'image/png');
    await cache.flush();
    const asDataUrl = await ask(`data:image/png;base64,${base64}`);
    expect(llmemoOf(asDataUrl.providerMetadata)?.hit).toBe(true);
    expect(server.count(CHAT)).toBe(1);
    // (A data URL's media type does not reach the provider here: ai@7 detects an image's type from its bytes.)
    const changed = PNG.slice();
    changed[15] = 83;
    const other = await ask(`data:image/png;base64,${Buffer.from(changed).toString('base64')}`);
    expect(llmemoOf(other.providerMetadata)?.hit).toBe(false);
    expect(server.count(CHAT)).toBe(2);
  });
});
