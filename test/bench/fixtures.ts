/** Realistic chat requests of a given serialized size, shaped like AI SDK call options. */
const WORDS =
  'the cache returns a stored answer when the same request arrives again so the provider is not called and latency drops to the time of a lookup while keys stay correct across processes'.split(
    ' ',
  );

function prose(length: number, seed: number): string {
  let out = '';
  let i = seed;
  while (out.length < length) {
    out += `${WORDS[i % WORDS.length]} `;
    i = (i * 7 + 3) % 9973;
  }
  return out.slice(0, length).trim();
}

export function chatRequest(bytes: number) {
  const turns = Math.max(2, Math.round(bytes / 1000));
  const perTurn = Math.floor((bytes - 600) / turns);
  const prompt: unknown[] = [{ role: 'system', content: 'You are a helpful assistant. Answer briefly.' }];
  for (let i = 0; i < turns; i++) {
    prompt.push(
      i % 2 === 0
        ? { role: 'user', content: [{ type: 'text', text: prose(perTurn, i) }] }
        : { role: 'assistant', content: [{ type: 'text', text: prose(perTurn, i) }] },
    );
  }
  return {
    kind: 'chat',
    provider: 'openai.responses',
    model: 'gpt-4o-mini',
    specVersion: 'v4',
    input: prompt,
    params: {
      temperature: 0,
      maxOutputTokens: 512,
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Weather for a city',
          inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
      toolChoice: { type: 'auto' },
      providerOptions: { openai: { reasoningEffort: 'low' } },
    },
  };
}
