import { createOpenAI } from '@ai-sdk/openai';
import { tool as langchainTool } from '@langchain/core/tools';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { createOpenAITestServer, embeddingFor, type OpenAITestServer } from '@llmemo/test-support';
import {
  embed,
  embedMany,
  generateImage,
  generateObject,
  generateText,
  isStepCount,
  Output,
  streamObject,
  streamText,
  tool,
} from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

let server: OpenAITestServer;

beforeAll(async () => {
  server = await createOpenAITestServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  server.reset();
});

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function aiSdk() {
  return createOpenAI({ baseURL: server.url, apiKey: 'test' });
}

function openaiClient() {
  return new OpenAI({ baseURL: server.url, apiKey: 'test', maxRetries: 0 });
}

function langchainChat(fields: Partial<ConstructorParameters<typeof ChatOpenAI>[0]> = {}) {
  return new ChatOpenAI({
    model: 'gpt-4o-mini',
    apiKey: 'test',
    maxRetries: 0,
    configuration: { baseURL: server.url },
    ...fields,
  });
}

const weatherTool = tool({
  description: 'Weather for a city',
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 21 }),
});

/** First turn asks for the tool; once a tool result comes back, answer with text. */
function toolRound(request: { toolResults: readonly { output: string }[] }) {
  return request.toolResults.length === 0
    ? { toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] }
    : { text: `It is ${request.toolResults[0]?.output}` };
}

const personSchema = z.object({ name: z.string(), age: z.number().int() });

describe('ai@7 + @ai-sdk/openai: Responses API (openai(model))', () => {
  it('generateText returns the echo, usage and response metadata', async () => {
    const result = await generateText({ model: aiSdk()('gpt-4o-mini'), prompt: 'hello there world' });
    expect(result.text).toBe('Echo: hello there world');
    expect(result.usage.inputTokens).toBe(3);
    expect(result.usage.outputTokens).toBe(4);
    expect(result.usage.totalTokens).toBe(7);
    expect(result.finishReason).toBe('stop');
    expect(result.finalStep.response.id).toMatch(/^resp_/);
    expect(server.count('/v1/responses')).toBe(1);
    const body = server.requests[0]?.body as { model: string; input: unknown[] };
    expect(body.model).toBe('gpt-4o-mini');
  });

  it('the same request gives the same text but a fresh response id', async () => {
    const model = aiSdk()('gpt-4o-mini');
    const first = await generateText({ model, prompt: 'same' });
    const second = await generateText({ model, prompt: 'same' });
    expect(second.text).toBe(first.text);
    expect(second.finalStep.response.id).not.toBe(first.finalStep.response.id);
  });

  it('reports the scripted model id (a dated snapshot)', async () => {
    server.script({ text: 'hi', model: 'gpt-4o-mini-2024-07-18' });
    const result = await generateText({ model: aiSdk()('gpt-4o-mini'), prompt: 'x' });
    expect(result.finalStep.response.modelId).toBe('gpt-4o-mini-2024-07-18');
  });

  it('streamText streams word-by-word deltas and usage', async () => {
    const result = streamText({ model: aiSdk()('gpt-4o-mini'), prompt: 'stream me please' });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas).toEqual(['Echo:', ' stream', ' me', ' please']);
    expect(await result.text).toBe('Echo: stream me please');
    expect((await result.usage).outputTokens).toBe(4);
    expect(await result.finishReason).toBe('stop');
  });

  it('streams scripted chunks', async () => {
    server.script({ chunks: ['Hel', 'lo', '!'] });
    const result = streamText({ model: aiSdk()('gpt-4o-mini'), prompt: 'x' });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas).toEqual(['Hel', 'lo', '!']);
  });

  it('returns reasoning as a reasoning summary (generate and stream)', async () => {
    server.script({ reasoning: 'Think it over carefully', text: 'Answer' });
    const generated = await generateText({ model: aiSdk()('gpt-4o-mini'), prompt: 'q' });
    expect(generated.finalStep.reasoningText).toBe('Think it over carefully');
    expect(generated.text).toBe('Answer');
    expect(generated.usage.outputTokenDetails.reasoningTokens).toBe(4);

    const streamed = streamText({ model: aiSdk()('gpt-4o-mini'), prompt: 'q' });
    expect(await streamed.text).toBe('Answer');
    expect(await streamed.reasoningText).toBe('Think it over carefully');
  });

  it('runs a tool-call round trip (generateText)', async () => {
    server.script(toolRound);
    const result = await generateText({
      model: aiSdk()('gpt-4o-mini'),
      prompt: 'Weather in Paris?',
      tools: { weather: weatherTool },
      stopWhen: isStepCount(3),
    });
    expect(result.steps).toHaveLength(2);
    const [first] = result.steps;
    expect(first?.toolCalls).toMatchObject([{ toolName: 'weather', input: { city: 'Paris' } }]);
    expect(first?.toolResults).toMatchObject([{ toolName: 'weather', output: { city: 'Paris', celsius: 21 } }]);
    expect(first?.finishReason).toBe('tool-calls');
    expect(result.text).toBe('It is {"city":"Paris","celsius":21}');
    expect(server.count('/v1/responses')).toBe(2);
  });

  it('runs a tool-call round trip (streamText)', async () => {
    server.script(toolRound);
    const result = streamText({
      model: aiSdk()('gpt-4o-mini'),
      prompt: 'Weather in Paris?',
      tools: { weather: weatherTool },
      stopWhen: isStepCount(3),
    });
    expect(await result.text).toBe('It is {"city":"Paris","celsius":21}');
    const steps = await result.steps;
    expect(steps[0]?.toolCalls).toMatchObject([{ toolName: 'weather', input: { city: 'Paris' } }]);
    expect(steps[0]?.toolResults).toMatchObject([{ output: { city: 'Paris', celsius: 21 } }]);
  });

  it('generateText with Output.object: schema-shaped default, and scripted json', async () => {
    const model = aiSdk()('gpt-4o-mini');
    const byDefault = await generateText({
      model,
      prompt: 'a person',
      output: Output.object({ schema: personSchema }),
    });
    expect(byDefault.output).toEqual({ name: 'Echo: a person', age: 1 });
    const sent = server.requests[0]?.body as { text: { format: { type: string } } };
    expect(sent.text.format.type).toBe('json_schema');

    server.script({ json: { name: 'Ada', age: 36 } });
    const scripted = await generateText({ model, prompt: 'a person', output: Output.object({ schema: personSchema }) });
    expect(scripted.output).toEqual({ name: 'Ada', age: 36 });
  });

  it('generateObject and streamObject', async () => {
    server.script({ json: { name: 'Ada', age: 36 } });
    const generated = await generateObject({ model: aiSdk()('gpt-4o-mini'), schema: personSchema, prompt: 'p' });
    expect(generated.object).toEqual({ name: 'Ada', age: 36 });
    const streamed = streamObject({ model: aiSdk()('gpt-4o-mini'), schema: personSchema, prompt: 'p' });
    // ai@7 settles `object` only once the stream is consumed.
    const partials: unknown[] = [];
    for await (const partial of streamed.partialObjectStream) partials.push(partial);
    expect(partials.at(-1)).toEqual({ name: 'Ada', age: 36 });
    expect(await streamed.object).toEqual({ name: 'Ada', age: 36 });
  });
});

describe('ai@7 + @ai-sdk/openai: chat completions (openai.chat(model))', () => {
  it('generateText returns text and usage', async () => {
    const result = await generateText({ model: aiSdk().chat('gpt-4o-mini'), prompt: 'hi chat' });
    expect(result.text).toBe('Echo: hi chat');
    expect(result.usage).toMatchObject({ inputTokens: 2, outputTokens: 3, totalTokens: 5 });
    expect(result.finalStep.response.id).toMatch(/^chatcmpl-/);
    expect(server.count('/v1/chat/completions')).toBe(1);
    expect(server.count('/v1/responses')).toBe(0);
  });

  it('streamText streams deltas and the include_usage chunk', async () => {
    const result = streamText({ model: aiSdk().chat('gpt-4o-mini'), prompt: 'one two' });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas).toEqual(['Echo:', ' one', ' two']);
    expect(await result.usage).toMatchObject({ inputTokens: 2, outputTokens: 3 });
    const body = server.requests[0]?.body as { stream_options: unknown };
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('runs a tool-call round trip, generate and stream', async () => {
    server.script(toolRound);
    const generated = await generateText({
      model: aiSdk().chat('gpt-4o-mini'),
      prompt: 'Weather?',
      tools: { weather: weatherTool },
      stopWhen: isStepCount(3),
    });
    expect(generated.steps[0]?.toolCalls).toMatchObject([{ toolName: 'weather', input: { city: 'Paris' } }]);
    expect(generated.steps[0]?.toolResults).toMatchObject([{ output: { city: 'Paris', celsius: 21 } }]);
    expect(generated.text).toBe('It is {"city":"Paris","celsius":21}');

    const streamed = streamText({
      model: aiSdk().chat('gpt-4o-mini'),
      prompt: 'Weather?',
      tools: { weather: weatherTool },
      stopWhen: isStepCount(3),
    });
    expect(await streamed.text).toBe('It is {"city":"Paris","celsius":21}');
    expect((await streamed.steps)[0]?.toolCalls).toMatchObject([{ toolName: 'weather', input: { city: 'Paris' } }]);
  });

  it('structured output via response_format json_schema', async () => {
    const result = await generateText({
      model: aiSdk().chat('gpt-4o-mini'),
      prompt: 'who',
      output: Output.object({ schema: personSchema }),
    });
    expect(result.output).toEqual({ name: 'Echo: who', age: 1 });
    const body = server.requests[0]?.body as { response_format: { type: string } };
    expect(body.response_format.type).toBe('json_schema');
  });
});

describe('ai@7 + @ai-sdk/openai: embeddings and images', () => {
  it('embed and embedMany give deterministic unit vectors', async () => {
    const model = aiSdk().embedding('text-embedding-3-small');
    const single = await embed({ model, value: 'hello world' });
    expect(single.embedding).toHaveLength(8);
    expect(single.embedding).toEqual(embeddingFor('hello world', 8));
    expect(single.usage.tokens).toBe(2);
    const norm = Math.hypot(...single.embedding);
    expect(norm).toBeCloseTo(1, 5);

    const many = await embedMany({ model, values: ['a', 'b', 'hello world'] });
    expect(many.embeddings).toHaveLength(3);
    expect(many.embeddings[2]).toEqual(single.embedding);
    expect(many.embeddings[0]).not.toEqual(many.embeddings[1]);
  });

  it('honours dimensions', async () => {
    const result = await embed({
      model: aiSdk().embedding('text-embedding-3-small'),
      value: 'x',
      providerOptions: { openai: { dimensions: 16 } },
    });
    expect(result.embedding).toHaveLength(16);
  });

  it('generateImage returns a PNG that depends on the prompt', async () => {
    const model = aiSdk().image('dall-e-3');
    const first = await generateImage({ model, prompt: 'a red fox' });
    const again = await generateImage({ model, prompt: 'a red fox' });
    const other = await generateImage({ model, prompt: 'a blue whale' });
    expect([...first.image.uint8Array.slice(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(first.image.mediaType).toBe('image/png');
    expect(again.image.base64).toBe(first.image.base64);
    expect(other.image.base64).not.toBe(first.image.base64);
  });

  it('generateImage with n images and a gpt-image model (usage)', async () => {
    const result = await generateImage({ model: aiSdk().image('gpt-image-1'), prompt: 'two cats', n: 2 });
    expect(result.images).toHaveLength(2);
    expect(result.images[0]?.base64).not.toBe(result.images[1]?.base64);
    expect(result.usage.inputTokens).toBe(2);
  });
});

describe('openai@6 client', () => {
  it('chat.completions.create, plain and streamed', async () => {
    const client = openaiClient();
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'ping pong' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe('Echo: ping pong');
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });

    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'ping pong' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Echo: ping pong');
    expect(usage).toMatchObject({ total_tokens: 5 });
  });

  it('the chat stream helper accumulates tool calls', async () => {
    server.script({ toolCalls: [{ name: 'lookup', arguments: { q: 'llmemo cache' }, id: 'call_fixed' }] });
    const runner = openaiClient().chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'find' }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
    });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.tool_calls?.[0]).toMatchObject({
      id: 'call_fixed',
      type: 'function',
      function: { name: 'lookup', arguments: '{"q":"llmemo cache"}' },
    });
  });

  it('responses.create and the responses stream helper', async () => {
    const client = openaiClient();
    server.script({ text: 'Final words here', reasoning: 'short thought' });
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'x' });
    expect(response.output_text).toBe('Final words here');
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(2);

    const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'x' });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Final words here');
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
  });

  it('embeddings decode from the default base64 encoding', async () => {
    const result = await openaiClient().embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    expect(server.requests[0]?.body).toMatchObject({ encoding_format: 'base64' });
    expect(result.data[0]?.embedding).toEqual(embeddingFor('a', 8));
    expect(result.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });

    const floats = await openaiClient().embeddings.create({
      model: 'text-embedding-3-small',
      input: 'a',
      encoding_format: 'float',
      dimensions: 4,
    });
    expect(floats.data[0]?.embedding).toEqual(embeddingFor('a', 4));
  });

  it('images.generate and models.list', async () => {
    const client = openaiClient();
    const image = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox' });
    const bytes = Buffer.from(image.data?.[0]?.b64_json ?? '', 'base64');
    expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    const byUrl = await client.images.generate({ model: 'dall-e-3', prompt: 'a fox' });
    const url = byUrl.data?.[0]?.url ?? '';
    const fetched = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect([...fetched.subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toContain('gpt-4o-mini');
  });

  it('unknown endpoints get an OpenAI-style 404', async () => {
    const response = await fetch(`${server.url}/nope`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error', param: null, code: null },
    });
  });
});

describe('@langchain/openai', () => {
  it('ChatOpenAI invoke and stream', async () => {
    const chat = langchainChat();
    const message = await chat.invoke('hello langchain');
    expect(message.content).toBe('Echo: hello langchain');
    expect(message.usage_metadata).toMatchObject({ input_tokens: 2, output_tokens: 3, total_tokens: 5 });

    let text = '';
    for await (const chunk of await chat.stream('hello langchain')) text += chunk.content;
    expect(text).toBe('Echo: hello langchain');
  });

  it('bindTools produces a tool call', async () => {
    server.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' } }] });
    const weather = langchainTool(async ({ city }: { city: string }) => `sunny in ${city}`, {
      name: 'weather',
      description: 'Weather for a city',
      schema: z.object({ city: z.string() }),
    });
    const message = await langchainChat().bindTools([weather]).invoke('weather in Oslo?');
    expect(message.tool_calls).toMatchObject([{ name: 'weather', args: { city: 'Oslo' } }]);

    let streamedArgs: unknown;
    for await (const chunk of await langchainChat().bindTools([weather]).stream('weather in Oslo?')) {
      if (chunk.tool_call_chunks?.length) streamedArgs = chunk;
    }
    expect(streamedArgs).toBeDefined();
  });

  it('withStructuredOutput (json_schema)', async () => {
    server.script({ json: { name: 'Ada', age: 36 } });
    const result = await langchainChat().withStructuredOutput(personSchema).invoke('who?');
    expect(result).toEqual({ name: 'Ada', age: 36 });
    const body = server.requests[0]?.body as { response_format: { type: string } };
    expect(body.response_format.type).toBe('json_schema');
  });

  it('ChatOpenAI on the Responses API (useResponsesApi)', async () => {
    server.script({ text: 'via responses', reasoning: 'hmm' });
    const chat = langchainChat({ useResponsesApi: true });
    const message = await chat.invoke('x');
    expect(message.text).toBe('via responses');
    let text = '';
    for await (const chunk of await chat.stream('x')) text += chunk.text;
    expect(text).toBe('via responses');
    expect(server.count('/v1/responses')).toBe(2);
  });

  it('OpenAIEmbeddings embedQuery and embedDocuments', async () => {
    const embeddings = new OpenAIEmbeddings({
      model: 'text-embedding-3-small',
      apiKey: 'test',
      maxRetries: 0,
      configuration: { baseURL: server.url },
    });
    expect(await embeddings.embedQuery('hello')).toEqual(embeddingFor('hello', 8));
    const docs = await embeddings.embedDocuments(['a', 'b']);
    expect(docs).toEqual([embeddingFor('a', 8), embeddingFor('b', 8)]);
  });
});

describe('faults and control surface', () => {
  it('failNext makes the clients fail with the status and message', async () => {
    server.failNext(1, { status: 500, message: 'boom' });
    await expect(generateText({ model: aiSdk()('gpt-4o-mini'), prompt: 'x', maxRetries: 0 })).rejects.toMatchObject({
      statusCode: 500,
      message: 'boom',
    });

    server.failNext(1, { status: 429 });
    const error = await openaiClient()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');

    server.failNext(1, { status: 503 });
    await expect(langchainChat().invoke('x')).rejects.toThrow(/overloaded/);

    // Faults are one-shot: the next request succeeds.
    const ok = await generateText({ model: aiSdk()('gpt-4o-mini'), prompt: 'x', maxRetries: 0 });
    expect(ok.text).toBe('Echo: x');
    expect(server.count()).toBe(4);
  });

  it('a scripted error reply and enqueue order', async () => {
    server.enqueue({ status: 400, error: { message: 'bad thing', code: 'bad_code' } }, { text: 'second' });
    server.script({ text: 'persistent' });
    const model = aiSdk().chat('gpt-4o-mini');
    await expect(generateText({ model, prompt: 'x', maxRetries: 0 })).rejects.toMatchObject({
      statusCode: 400,
      message: 'bad thing',
    });
    expect((await generateText({ model, prompt: 'x' })).text).toBe('second');
    expect((await generateText({ model, prompt: 'x' })).text).toBe('persistent');
  });

  it('cutNextStream breaks the client stream mid-way', async () => {
    server.cutNextStream({ afterChunks: 3 });
    const result = streamText({ model: aiSdk().chat('gpt-4o-mini'), prompt: 'one two three four five', maxRetries: 0 });
    const deltas: string[] = [];
    // ai@7 rethrows the dropped connection from the stream rather than emitting an error part.
    await expect(
      (async () => {
        for await (const delta of result.textStream) deltas.push(delta);
      })(),
    ).rejects.toThrow('Failed to process successful response');
    expect(deltas).toEqual(['Echo:', ' one']);

    // Responses API: created, in_progress, output_item.added, content_part.added, then the first delta.
    server.cutNextStream({ afterChunks: 5 });
    const viaResponses = streamText({ model: aiSdk()('gpt-4o-mini'), prompt: 'one two three', maxRetries: 0 });
    const responseDeltas: string[] = [];
    await expect(
      (async () => {
        for await (const delta of viaResponses.textStream) responseDeltas.push(delta);
      })(),
    ).rejects.toThrow('Failed to process successful response');
    expect(responseDeltas).toEqual(['Echo:']);

    server.cutNextStream({ afterChunks: 2 });
    const stream = await openaiClient().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
    });
    const received: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(received).toEqual(['', 'Echo:']);
  });

  it('latency delays the first token and each chunk', async () => {
    server.setLatency({ firstTokenMs: 60, perTokenMs: 5, responseMs: 60 });
    const started = Date.now();
    await generateText({ model: aiSdk().chat('gpt-4o-mini'), prompt: 'x' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);

    const streamStarted = Date.now();
    const result = streamText({ model: aiSdk().chat('gpt-4o-mini'), prompt: 'a b c' });
    expect(await result.text).toBe('Echo: a b c');
    // 7 events: 60 ms before the first, 5 ms between the others.
    expect(Date.now() - streamStarted).toBeGreaterThanOrEqual(85);
  });

  it('hangNext never answers, so the client times out', async () => {
    server.hangNext(1);
    const client = new OpenAI({ baseURL: server.url, apiKey: 'test', maxRetries: 0, timeout: 150 });
    await expect(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(server.count('/v1/chat/completions')).toBe(1);
  });

  it('down() refuses connections and up() restores them on the same port', async () => {
    const client = openaiClient();
    await client.models.list();
    const port = server.port;
    await server.down();
    expect(server.isUp).toBe(false);
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    await expect(generateText({ model: aiSdk()('gpt-4o-mini'), prompt: 'x', maxRetries: 0 })).rejects.toThrow(
      /Cannot connect|fetch failed|ECONNREFUSED/,
    );
    await server.up();
    expect(server.port).toBe(port);
    expect((await generateText({ model: aiSdk()('gpt-4o-mini'), prompt: 'x' })).text).toBe('Echo: x');
  });

  it('counts are exact under 200 concurrent requests', async () => {
    const client = openaiClient();
    const model = aiSdk()('gpt-4o-mini');
    const jobs = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `n${i}` }] })
        : generateText({ model, prompt: `n${i}` }),
    );
    const results = await Promise.all(jobs);
    expect(results).toHaveLength(200);
    expect(server.count('/v1/chat/completions')).toBe(100);
    expect(server.count('/v1/responses')).toBe(100);
    expect(server.counts).toEqual({ '/v1/chat/completions': 100, '/v1/responses': 100 });
    expect(server.count()).toBe(200);
    expect(server.count((request) => (request.body as { stream?: boolean }).stream === true)).toBe(0);
  });

  it('faults can target one path, leaving other requests alone', async () => {
    server.failNext(1, { status: 500, match: '/v1/embeddings' });
    const client = openaiClient();
    await client.models.list();
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
  });

  it('finishReason length maps to an incomplete response; usage can be scripted', async () => {
    server.script({ text: 'cut short', finishReason: 'length', usage: { inputTokens: 100, outputTokens: 7 } });
    const responses = await generateText({ model: aiSdk()('gpt-4o-mini'), prompt: 'x' });
    expect(responses.finishReason).toBe('length');
    expect(responses.usage).toMatchObject({ inputTokens: 100, outputTokens: 7, totalTokens: 107 });
    const chat = await generateText({ model: aiSdk().chat('gpt-4o-mini'), prompt: 'x' });
    expect(chat.finishReason).toBe('length');
  });

  it('json_object mode gets a JSON echo by default', async () => {
    const completion = await openaiClient().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'give json' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toEqual({ echo: 'give json' });
  });

  it('requires the API key when one is configured', async () => {
    const guarded = await createOpenAITestServer({ apiKey: 'sk-right' });
    try {
      const wrong = new OpenAI({ baseURL: guarded.url, apiKey: 'sk-wrong', maxRetries: 0 });
      await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const right = new OpenAI({ baseURL: guarded.url, apiKey: 'sk-right', maxRetries: 0 });
      await expect(right.models.list()).resolves.toBeDefined();
    } finally {
      await guarded.close();
    }
  });

  it('records method, path, headers and parsed body', async () => {
    await openaiClient().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(request?.headers.authorization).toBe('Bearer test');
    expect(request?.body).toMatchObject({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    expect(typeof request?.at).toBe('number');
  });
});
