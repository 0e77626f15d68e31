// Issue 11: a call served without a provider request must never look billable. Sequential calls where the second
// starts after the first returned but before its write landed (SQLite, Redis) wait for that write and hit;
// concurrent ones join the first call's flight and report { hit: false, coalesced: true }. The README's rule is: a
// call reached the provider iff neither `hit` nor `coalesced` is true. Checked on every store, with the real
// @ai-sdk/openai.
import { STORE_KINDS, useOpenAITestServer } from '@llmemo/test-support';
import { generateText } from 'ai';
import { afterAll, describe, expect, it } from 'vitest';
import { cached, closeCaches, llmemoOf, newCache, provider } from './helpers.js';

const server = useOpenAITestServer();
afterAll(closeCaches);

const billable = (info: { hit: boolean; coalesced?: boolean } | undefined) => !(info?.hit || info?.coalesced);

describe.each(STORE_KINDS)('the billing rule on %s', (store) => {
  it('counts exactly the calls that reached the provider, back-to-back calls included', async () => {
    const cache = newCache(store);
    const model = cached(provider(server).chat('gpt-4o-mini'), cache);
    const infos = [];
    // No flush between calls: the next call may start while the previous write is still landing.
    for (let i = 0; i < 5; i++)
      infos.push(llmemoOf((await generateText({ model, prompt: 'bill me once' })).providerMetadata));
    await Promise.all(
      [1, 2, 3].map(async () =>
        infos.push(llmemoOf((await generateText({ model, prompt: 'and me' })).providerMetadata)),
      ),
    );
    expect(infos.filter(billable)).toHaveLength(server.count());
    expect(server.count()).toBe(2);
  });
});
