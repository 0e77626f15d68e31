import { createHash, randomBytes } from 'node:crypto';
import { imageFor } from '@llmemo/test-support/openai';
import type OpenAI from 'openai';
import { toFile } from 'openai';
import { describe, expect, it } from 'vitest';
import { apiKey, originOf, useHarness } from './helpers.js';

const h = useHarness();
const EDITS = '/v1/images/edits';
const MODEL = 'gpt-image-1';
const PNG_A = imageFor('a', 0);
const PNG_B = imageFor('b', 0);
const MASK_1 = imageFor('mask', 1);
const MASK_2 = imageFor('mask', 2);

const png = (bytes: Buffer, name = 'image.png') => toFile(bytes, name, { type: 'image/png' });

interface Edit {
  images?: Buffer[];
  mask?: Buffer;
  prompt?: string;
  model?: string;
  n?: number;
  name?: string;
}

async function edit(client: OpenAI, { images = [PNG_A], mask, prompt = 'add a hat', model = MODEL, n, name }: Edit) {
  const files = await Promise.all(images.map((bytes) => png(bytes, name)));
  const { data, response } = await client.images
    .edit({
      model,
      prompt,
      image: files.length === 1 ? files[0]! : files,
      ...(mask && { mask: await png(mask, 'mask.png') }),
      ...(n !== undefined && { n }),
    })
    .withResponse();
  return { cache: response.headers.get('x-cache'), bypass: response.headers.get('x-llmemo-bypass'), data };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('POST /v1/images/edits through the openai client', () => {
  it('answers a repeated edit from the cache; the upstream got the image bytes unchanged', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    const first = await edit(client, { mask: MASK_1 });
    expect(first.cache).toBe('MISS');
    await proxy.proxy.flush();
    const second = await edit(client, { mask: MASK_1 });
    expect(second.cache).toBe('HIT');
    expect(second.data).toEqual(first.data);
    expect(second.data.data?.[0]?.b64_json).toMatch(/^iVBOR/);
    expect(h.server.count(EDITS)).toBe(1);
    const received = h.server.requests[0]!.body as Record<string, { sha256: string }>;
    expect(received.image!.sha256).toBe(sha256(PNG_A));
    expect(received.mask!.sha256).toBe(sha256(MASK_1));
  });

  it('caches an edit of a real-sized image (512 KiB of incompressible bytes)', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    const large = randomBytes(512 * 1024);
    expect((await edit(client, { images: [large] })).cache).toBe('MISS');
    await proxy.proxy.flush();
    expect((await edit(client, { images: [large] })).cache).toBe('HIT');
    const other = Buffer.from(large);
    other[other.length - 1]! ^= 1;
    expect((await edit(client, { images: [other] })).cache).toBe('MISS');
    expect((h.server.requests[0]!.body as Record<string, { size: number }>).image!.size).toBe(large.length);
  });

  it('the file name is not in the key: the same bytes under another name hit', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    await edit(client, { name: 'one.png' });
    await proxy.proxy.flush();
    expect((await edit(client, { name: 'two.png' })).cache).toBe('HIT');
  });

  it('n > 1 goes upstream uncached every time', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    const first = await edit(client, { n: 2 });
    expect(first).toMatchObject({ cache: 'BYPASS', bypass: 'multiple-images' });
    expect(first.data.data).toHaveLength(2);
    await proxy.proxy.flush();
    expect((await edit(client, { n: 2 })).cache).toBe('BYPASS');
    expect(h.server.count(EDITS)).toBe(2);
  });

  it('a body past maxBodyBytes is refused before anything goes upstream', async () => {
    const proxy = await h.proxy({ maxBodyBytes: 64 });
    await expect(edit(h.client(proxy), {})).rejects.toMatchObject({ status: 413 });
    expect(h.server.count(EDITS)).toBe(0);
  });

  it('a form another parser could read differently goes upstream uncached', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    /** A hand-built form: a prompt part (its bytes and extra headers given) and one image. */
    const form = (prompt: Buffer, promptHeaders = '', imageHeaders = '') =>
      Buffer.concat([
        Buffer.from(`--b0\r\nContent-Disposition: form-data; name="prompt"\r\n${promptHeaders}\r\n`),
        prompt,
        Buffer.from(
          `\r\n--b0\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n${imageHeaders}\r\n`,
        ),
        PNG_A,
        Buffer.from('\r\n--b0--\r\n'),
      ]);
    const send = (body: Buffer) =>
      fetch(`${originOf(proxy)}${EDITS}`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=b0', authorization: `Bearer ${key}` },
        body,
      });
    const plain = await send(form(Buffer.from('add a hat')));
    expect(plain.headers.get('x-cache')).toBe('MISS');
    const cases = [
      form(Buffer.from('add a hat'), 'Content-Type: text/plain; charset=iso-8859-1\r\n'),
      form(Buffer.from('add a hat'), '', 'Content-Transfer-Encoding: base64\r\n'),
      form(Buffer.from([0x61, 0xff, 0x62])),
      form(Buffer.from([0x61, 0xfe, 0x62])),
    ];
    for (const body of cases) {
      const response = await send(body);
      expect(response.headers.get('x-cache')).toBe('BYPASS');
      expect(response.headers.get('x-llmemo-bypass')).toBe('unkeyable');
    }
  });

  it('a body that is not a readable form goes upstream uncached', async () => {
    const proxy = await h.proxy();
    const response = await fetch(`${originOf(proxy)}${EDITS}`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz', authorization: `Bearer ${apiKey()}` },
      body: 'not a form',
    });
    expect(response.headers.get('x-cache')).toBe('BYPASS');
    expect(response.headers.get('x-llmemo-bypass')).toBe('unkeyable');
  });
});

describe('POST /v1/images/edits: edits that differ never share an entry', () => {
  it('same prompt: other image bytes, image order, mask bytes, mask or none, model, key each miss', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const client = h.client(proxy, key);
    const variants: Edit[] = [
      { images: [PNG_A] },
      { images: [PNG_B] },
      { images: [PNG_A, PNG_B] },
      { images: [PNG_B, PNG_A] },
      { images: [PNG_A], mask: MASK_1 },
      { images: [PNG_A], mask: MASK_2 },
      { images: [PNG_A], model: 'dall-e-2' },
    ];
    const seen = new Set<string>();
    for (const variant of variants) {
      const answer = await edit(client, variant);
      expect(answer.cache).toBe('MISS');
      const image = answer.data.data?.[0]?.b64_json ?? answer.data.data?.[0]?.url ?? '';
      expect(seen.has(image)).toBe(false);
      seen.add(image);
      await proxy.proxy.flush();
    }
    for (const variant of variants) expect((await edit(client, variant)).cache).toBe('HIT');
    // Another credential never reads these entries.
    expect((await edit(h.client(proxy), variants[0]!)).cache).toBe('MISS');
    expect(h.server.count(EDITS)).toBe(variants.length + 1);
  });
});
