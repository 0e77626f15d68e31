import type { OpenAIProvider } from '@ai-sdk/openai';
import { cacheMiddleware } from '@llmemo/ai-sdk';
import type { ResponseCache } from '@llmemo/core';
import { generateText, streamText, wrapLanguageModel } from 'ai';

export const CATEGORIES = ['billing', 'shipping', 'other'] as const;

export interface Draft {
  text: string;
  /** The stream's text deltas, as the UI would have shown them. */
  deltas: string[];
  /** Whether the answer came from the cache (`providerMetadata.llmemo.hit`). */
  cached: boolean;
}

/**
 * A support-ticket triage feature: classify a ticket (one model call) and stream a draft reply (a second one).
 * The model goes through llmemo's cacheMiddleware, so with a file:// store every answer is recorded as a JSON file
 * and tests can replay them without the network.
 */
export function createTriage(openai: OpenAIProvider, cache: ResponseCache) {
  const model = wrapLanguageModel({ model: openai('gpt-4o-mini'), middleware: cacheMiddleware({ cache }) });

  async function classify(ticket: string): Promise<{ category: string; cached: boolean }> {
    const result = await generateText({
      model,
      system: `Classify the support ticket. Answer with one word: ${CATEGORIES.join(', ')}.`,
      prompt: ticket,
      temperature: 0,
    });
    const cached = (result.providerMetadata?.llmemo as { hit?: boolean } | undefined)?.hit === true;
    return { category: result.text.trim().toLowerCase(), cached };
  }

  async function draftReply(ticket: string): Promise<Draft> {
    const result = streamText({
      model,
      system: 'You are a friendly support agent. Draft a two-sentence reply to the ticket.',
      prompt: ticket,
      temperature: 0,
    });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    const metadata = (await result.providerMetadata)?.llmemo as { hit?: boolean } | undefined;
    return { text: await result.text, deltas, cached: metadata?.hit === true };
  }

  return { classify, draftReply };
}
