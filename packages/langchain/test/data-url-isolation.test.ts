// Issue 10, item 10, through the real @langchain/openai ChatOpenAI and the local OpenAI-compatible server. Before key
// spec v2, a data URL's media type was dropped and any `data:` string was decoded, so these pairs shared one entry.
import { HumanMessage } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { withCache } from '../src/index.js';
import { CHAT_PATH, chatModel, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

const PAYLOAD = Buffer.from('%PDF-1.7 the same bytes either way').toString('base64');

describe.each(['sqlite', 'redis'] as const)('withCache(ChatOpenAI) with data: URLs on %s', (kind) => {
  it('an image_url block keys its media type: a PNG and a PDF data URL of one payload are two requests', async () => {
    const cache = await makeCache(kind);
    const model = withCache(chatModel(ctx.server), { cache });
    const ask = (url: string) =>
      model.invoke([
        new HumanMessage({
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url } },
          ],
        }),
      ]);
    await ask(`data:image/png;base64,${PAYLOAD}`);
    await cache.flush();
    await ask(`data:application/pdf;base64,${PAYLOAD}`);
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
    await cache.flush();
    // Each is cached under its own key.
    await ask(`data:application/pdf;base64,${PAYLOAD}`);
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('message text that reads like a data URL is text: two such messages get their own answers', async () => {
    const cache = await makeCache(kind);
    const model = withCache(chatModel(ctx.server), { cache });
    const first = await model.invoke([new HumanMessage('data:,hello')]);
    await cache.flush();
    const second = await model.invoke([new HumanMessage('data:text/plain;base64,aGVsbG8=')]);
    expect(first.text).toBe('Echo: data:,hello');
    expect(second.text).toBe('Echo: data:text/plain;base64,aGVsbG8=');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });
});
