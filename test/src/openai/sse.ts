import type { ServerResponse } from 'node:http';
import { startEventStream, wait } from './http.js';

/** One server-sent event; `event` is set for the Responses API, which names its events, and absent for chat. */
export interface SseEvent {
  readonly event?: string;
  /** A JSON value, or a literal string such as '[DONE]'. */
  readonly data: unknown;
}

export interface StreamPlan {
  readonly firstTokenMs: number;
  readonly perTokenMs: number;
  /** Destroy the socket after this many events (undefined: send them all). */
  readonly cutAfter: number | undefined;
  readonly headers?: Readonly<Record<string, string>>;
}

export function formatEvent({ event, data }: SseEvent): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${payload}\n\n`;
}

function write(res: ServerResponse, text: string): Promise<void> {
  return new Promise((resolve, reject) => res.write(text, (error) => (error ? reject(error) : resolve())));
}

/**
 * Sends the events with the planned pacing. A cut destroys the socket without the terminating chunk, which is what a
 * client sees when a connection drops mid-stream; it waits for the earlier events to be flushed first so the client
 * really did receive them.
 */
export async function sendEventStream(
  res: ServerResponse,
  events: readonly SseEvent[],
  plan: StreamPlan,
): Promise<void> {
  startEventStream(res, plan.headers);
  try {
    for (const [index, event] of events.entries()) {
      if (plan.cutAfter !== undefined && index >= plan.cutAfter) {
        res.socket?.destroy();
        return;
      }
      const alive = await wait(index === 0 ? plan.firstTokenMs : plan.perTokenMs, res);
      if (!alive) return;
      await write(res, formatEvent(event));
    }
    if (plan.cutAfter !== undefined && plan.cutAfter >= events.length) {
      res.socket?.destroy();
      return;
    }
    res.end();
  } catch {
    // The client went away mid-write; nothing is left to answer.
    res.destroy();
  }
}
