// The app's tests, replayed from the committed fixtures: no network, no API key, no cost. `pnpm test` and CI run
// them in replay mode; `LLMEMO_MODE=read-write OPENAI_API_KEY=sk-… pnpm exec vitest run examples/ai-sdk-fixtures`
// records what is missing (then review the new files under fixtures/ and commit them).
import { afterAll, describe, expect, it } from 'vitest';
import { TICKETS } from '../src/local-model.js';
import { fixtureCache, openaiProvider } from '../src/setup.js';
import { CATEGORIES, createTriage } from '../src/triage.js';

// Replay unless told otherwise; LLMEMO_MODE (read by createCache) switches to recording.
const cache = fixtureCache(process.env.LLMEMO_MODE ? {} : { mode: 'replay' });
const replaying = (process.env.LLMEMO_MODE ?? 'replay') === 'replay';
// Replaying, nothing may reach the network: a request would fail the test loudly, not cost money quietly.
const offline: typeof fetch = async (url) => {
  throw new Error(`replay made a network request to ${String(url)}`);
};
const triage = createTriage(openaiProvider(replaying ? offline : undefined), cache);
afterAll(async () => {
  await cache.close();
});

describe.each(TICKETS)('ticket %j', (ticket) => {
  it('is classified into one of the categories', async () => {
    const { category, cached } = await triage.classify(ticket);
    expect(CATEGORIES).toContain(category);
    // Replaying, every answer comes from a fixture (recording, new ones come from the provider).
    expect(cached || !replaying).toBe(true);
  });

  it('gets a streamed draft reply', async () => {
    const draft = await triage.draftReply(ticket);
    expect(draft.deltas.length).toBeGreaterThan(1);
    expect(draft.deltas.join('')).toBe(draft.text);
    expect(draft.text.length).toBeGreaterThan(20);
    expect(draft.cached || !replaying).toBe(true);
  });
});

it('a ticket nobody recorded fails with CACHE_MISS naming the fixture to record', async () => {
  // Always replay here, whatever LLMEMO_MODE says: the point is what CI sees for a missing fixture.
  const strict = fixtureCache({ mode: 'replay' });
  try {
    const error = await createTriage(openaiProvider(offline), strict)
      .classify('A ticket no one recorded.')
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CACHE_MISS' });
    const message = (error as Error).message;
    expect(message).toMatch(
      /model 'gpt-4o-mini'.*fixtures[/\\]triage[/\\]openai\.responses[/\\]gpt-4o-mini[/\\]chat-[0-9a-f]{64}\.json/,
    );
    // The example records requests (recordRequest: true), so the message may quote the ticket.
    expect(message).toContain('A ticket no one recorded.');
  } finally {
    await strict.close();
  }
});
