import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { withProperty } from '@llmemo/core';

/**
 * What LangChain's own cache path (`BaseChatModel._generateCached`) tells callbacks on a hit, done for withCache's
 * hits too: `handleLLMEnd` gets `{ cached: true }` as its extra params (LangSmith shows it as `extra.cached`), and an
 * invoke hit fires `handleLLMNewToken` once with the whole text.
 */

const MARKED = Symbol.for('llmemo.langchain.cachedRun');

/**
 * Makes this run's `handleLLMEnd` report `{ cached: true }`. LangChain calls it on the run manager it handed the
 * model once the model's method returns (generate) or its stream ends, with no extra params of its own; only this
 * run's manager object is changed.
 */
export function markCached(runManager: CallbackManagerForLLMRun | undefined): void {
  if (!runManager || (runManager as unknown as Record<symbol, unknown>)[MARKED]) return;
  const end = runManager.handleLLMEnd.bind(runManager);
  Object.defineProperty(runManager, MARKED, { value: true });
  Object.defineProperty(runManager, 'handleLLMEnd', {
    configurable: true,
    writable: true,
    value: (...args: Parameters<CallbackManagerForLLMRun['handleLLMEnd']>) => {
      const [output, runId, parentRunId, tags, extra] = args;
      return end(output, runId, parentRunId, tags, withProperty(extra, 'cached', true));
    },
  });
}

/** An invoke hit's one token callback: the whole text, as LangChain's cache path sends it. */
export async function wholeTextToken(runManager: CallbackManagerForLLMRun | undefined, text: string): Promise<void> {
  await runManager?.handleLLMNewToken(text);
}
