import type { ChatModelStreamEvent } from '@langchain/core/language_models/event';
import type { BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk } from '@langchain/core/outputs';
import { LlmemoError } from '@llmemo/core';
import { restoreGeneration, type StoredGenerationEntry, ZERO_USAGE } from './generations.js';

/** The body of a `.stream()` entry: every ChatGenerationChunk the provider produced, in order. */
export interface ChunksBody {
  chunks: StoredGenerationEntry[];
}

/** The body of a `streamEvents()` entry (the content-block protocol): every event, in order. */
export interface EventsBody {
  events: ChatModelStreamEvent[];
}

function corrupt(what: string): LlmemoError {
  return new LlmemoError('CORRUPT_ENTRY', `The cached entry is not a recorded LangChain ${what}.`);
}

/** Fresh chunks for a replay: the run's id instead of the provider's, zero usage, a hit marker on the first. */
export function restoreChunks(body: unknown, marker: Record<string, unknown>, id: string): ChatGenerationChunk[] {
  const chunks = (body as Partial<ChunksBody> | null)?.chunks;
  if (!Array.isArray(chunks) || chunks.length === 0) throw corrupt('stream');
  return chunks.map((entry, index) => {
    const generation = restoreGeneration(entry, {
      id,
      marker: index === 0 ? marker : undefined,
      zeroUsage: true,
    });
    const message = (generation as { message?: unknown }).message;
    if (!message || (entry as StoredGenerationEntry).chunk !== true) throw corrupt('stream');
    return new ChatGenerationChunk({
      text: generation.text,
      message: message as ChatGenerationChunk['message'],
      generationInfo: generation.generationInfo,
    });
  });
}

function zeroed(usage: unknown): unknown {
  return usage === undefined ? undefined : { ...ZERO_USAGE };
}

/** Fresh events for a replay: the run's id, zero usage, the hit marker in the finish event's responseMetadata. */
export function restoreEvents(body: unknown, marker: Record<string, unknown>, id: string): ChatModelStreamEvent[] {
  const events = (body as Partial<EventsBody> | null)?.events;
  if (!Array.isArray(events) || events.length === 0) throw corrupt('event stream');
  return events.map((stored) => {
    if (stored === null || typeof stored !== 'object' || typeof stored.event !== 'string') {
      throw corrupt('event stream');
    }
    const event = { ...stored } as ChatModelStreamEvent & { usage?: unknown; id?: unknown };
    switch (event.event) {
      case 'message-start':
        event.id = id;
        if (event.usage !== undefined) event.usage = zeroed(event.usage) as typeof event.usage;
        break;
      case 'usage':
        event.usage = { ...ZERO_USAGE };
        break;
      case 'message-finish':
        if (event.usage !== undefined) event.usage = zeroed(event.usage) as typeof event.usage;
        event.responseMetadata = { ...event.responseMetadata, ...marker };
        break;
    }
    return event;
  });
}

/** A recorded event stream is complete when it finished and carried no error event. */
export function isCompleteEventStream(events: readonly ChatModelStreamEvent[]): boolean {
  let finished = false;
  for (const event of events) {
    if (event.event === 'error') return false;
    if (event.event === 'message-finish') finished = true;
  }
  return finished;
}

/** The latest usage snapshot in an event stream (events carry running totals, not deltas). */
export function eventsUsage(events: readonly ChatModelStreamEvent[]): Record<string, unknown> | undefined {
  let usage: Record<string, unknown> | undefined;
  for (const event of events) {
    const candidate = (event as { usage?: Record<string, unknown> }).usage;
    if (candidate) usage = candidate;
  }
  return usage;
}

/** A stand-in message carrying a usage total, for entryMetadata. */
export function messagesWithUsage(usage: object | undefined): BaseMessage | undefined {
  return usage ? ({ usage_metadata: usage } as unknown as BaseMessage) : undefined;
}
