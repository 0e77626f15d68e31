import type { OpenAIProvider } from '@ai-sdk/openai';
import { cacheMiddleware, embeddingCacheMiddleware } from '@llmemo/ai-sdk';
import type { ResponseCache } from '@llmemo/core';
import {
  cosineSimilarity,
  embed,
  embedMany,
  isStepCount,
  streamText,
  tool,
  wrapEmbeddingModel,
  wrapLanguageModel,
} from 'ai';
import { z } from 'zod';

/** The help-center articles the assistant answers from. */
export const ARTICLES = [
  'Refunds: you can return any item within 30 days for a full refund; the money is back in 5 business days.',
  'Shipping: orders leave our warehouse within 24 hours; standard delivery takes 2 to 4 days.',
  'Order status: give us your order number and we look it up; tracking links arrive by email.',
  'Accounts: reset your password from the sign-in page; two-factor codes expire after 10 minutes.',
];

/** A stand-in for the shop's order API: the tool the model calls. */
const ORDERS: Record<string, { status: string; eta: string }> = {
  '1234': { status: 'shipped', eta: 'Thursday' },
  '5678': { status: 'packing', eta: 'next Monday' },
};

export interface Answer {
  text: string;
  /** Whether each model call of the answer came from the cache (`providerMetadata.llmemo.hit`). */
  hits: boolean[];
  article: string;
}

/**
 * A support assistant: retrieves the closest article with cached embeddings (shared by every tenant: the
 * articles are the same), then answers with a tool-calling model whose cache entries live in the tenant's own
 * namespace. A cached stream replays at once; `replay: 'recorded'` would play it with the original timing, so
 * a cached answer still types itself out in a chat UI.
 */
export function createAssistant(
  openai: OpenAIProvider,
  cache: ResponseCache,
  replay: 'instant' | 'recorded' = 'instant',
) {
  const chat = wrapLanguageModel({
    model: openai('gpt-4o-mini'),
    middleware: cacheMiddleware({ cache, replay }),
  });
  const embedder = wrapEmbeddingModel({
    model: openai.embedding('text-embedding-3-small'),
    middleware: embeddingCacheMiddleware({ cache }),
  });
  const orderStatus = tool({
    description: 'Look up the status of an order by its number',
    inputSchema: z.object({ orderId: z.string() }),
    execute: async ({ orderId }) => ORDERS[orderId] ?? { status: 'unknown order' },
  });

  async function retrieve(question: string): Promise<string> {
    // embedMany sends only the articles not cached yet; after the first run it sends nothing.
    const { embeddings } = await embedMany({ model: embedder, values: ARTICLES });
    const { embedding } = await embed({ model: embedder, value: question });
    let best = 0;
    for (let i = 1; i < ARTICLES.length; i++) {
      if (cosineSimilarity(embedding, embeddings[i]!) > cosineSimilarity(embedding, embeddings[best]!)) best = i;
    }
    return ARTICLES[best]!;
  }

  async function answer(
    question: string,
    tenant: string,
    onDelta: (delta: string) => void = () => {},
  ): Promise<Answer> {
    const article = await retrieve(question);
    const result = streamText({
      model: chat,
      system: `You are a support assistant. Answer from this article when it helps:\n${article}`,
      prompt: question,
      tools: { orderStatus },
      stopWhen: isStepCount(3),
      temperature: 0,
      // Each tenant's answers are cached apart: one tenant never sees another's cached answer.
      providerOptions: { llmemo: { namespace: tenant } },
    });
    for await (const delta of result.textStream) onDelta(delta);
    const steps = await result.steps;
    const hits = steps.map((step) => (step.providerMetadata?.llmemo as { hit?: boolean } | undefined)?.hit === true);
    return { text: await result.text, hits, article };
  }

  return { retrieve, answer };
}
