import type { OpenAITestServer } from '@llmemo/test-support/openai';
import type { createAssistant } from './assistant.js';

export const QUESTIONS = ['Where is my order 1234?', 'How long do refunds take?'];

/** The local model: asks for the order tool when an order number is mentioned, then answers with its result. */
export function scriptLocalModel(server: OpenAITestServer): void {
  server.script((request) => {
    const order = /order (\d+)/.exec(request.lastUserText)?.[1];
    if (order && request.toolResults.length === 0) {
      return { toolCalls: [{ name: 'orderStatus', arguments: { orderId: order } }] };
    }
    if (request.toolResults.length > 0) return { text: `Your order: ${request.toolResults[0]?.output}.` };
    return { text: 'Refunds are back in your account 5 business days after we receive the item.' };
  });
  server.setLatency({ firstTokenMs: 400, perTokenMs: 15, responseMs: 500 });
}

export interface Row {
  tenant: string;
  question: string;
  cached: string;
  ms: number;
  requests: number;
}

/** Answers every question for each tenant in `plan`, in order; `requests()` counts provider requests so far. */
export async function runPlan(
  assistant: ReturnType<typeof createAssistant>,
  plan: string[],
  requests: () => number,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const tenant of plan) {
    for (const question of QUESTIONS) {
      const before = requests();
      const started = performance.now();
      const { hits } = await assistant.answer(question, tenant);
      rows.push({
        tenant,
        question,
        cached: `${hits.filter(Boolean).length}/${hits.length} model calls`,
        ms: Math.round(performance.now() - started),
        requests: requests() - before,
      });
    }
  }
  return rows;
}
