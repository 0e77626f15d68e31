import { createHash } from 'node:crypto';
import type { Answer } from './answer.js';
import type { Json, ProxyContext } from './context.js';
import { answersWithUrls, cachedImages } from './images.js';
import { bypassed, incomingOf, plan, readRequestBody } from './prepare.js';
import type { ProxyRequest } from './request.js';
import { cacheRequest } from './request-key.js';

/** A file part of the form, as the key holds it: its bytes' SHA-256 and its declared media type (never the name). */
interface FileDigest {
  sha256: string;
  type: string;
}

/** What the key of an edit holds besides the endpoint and headers. */
interface EditForm {
  model: string;
  prompt: string;
  /** Every `image` / `image[]` part, in order (the field name kept: the upstream may read them differently). */
  images: { field: string; file: FileDigest }[];
  /** The mask, or null: an edit without a mask never shares an entry with one that has one. */
  mask: FileDigest | null;
  /** Every other field, by name, its values in order (files as digests). */
  params: Json;
  /** The text fields, for the choices made on them (n, stream, response_format). */
  fields: Record<string, string>;
}

async function digest(file: File): Promise<FileDigest> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  return { sha256: createHash('sha256').update(bytes).digest('hex'), type: file.type };
}

/** Part headers that make the upstream read a part's bytes differently from how the key reads them. */
const REREADING_HEADER = /^content-transfer-encoding\s*:|;\s*charset\s*=/im;

/**
 * Whether a part declares a transfer encoding or a charset. The key holds a part's bytes as Node's parser reads
 * them, and no part header but the media type: a part that another parser would decode differently (base64, Latin-1
 * text) cannot be keyed faithfully. The official clients send neither. Only the header blocks are read, never the
 * image bytes.
 */
function rereadsParts(raw: Uint8Array, contentType: string): boolean {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!match) return true;
  const body = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const delimiter = Buffer.from(`--${match[1] ?? match[2]}`, 'latin1');
  for (let at = body.indexOf(delimiter); at >= 0; at = body.indexOf(delimiter, at + delimiter.length)) {
    const start = at + delimiter.length;
    const end = body.indexOf('\r\n\r\n', start);
    if (end < 0) break;
    if (REREADING_HEADER.test(body.toString('latin1', start, end))) return true;
  }
  return false;
}

/**
 * Reads a multipart body with the runtime's own form-data parser (undici's `Response.formData`, part of Node):
 * no dependency, and the body was already read within the proxy's size and time bounds. Undefined when the body
 * is not a form it can read, or holds text that is not valid UTF-8 (decoded with U+FFFD, two different prompts
 * would read the same): the upstream then judges the request, uncached. undici's parser ends a part at the first
 * bare occurrence of the boundary and fails unless `CRLF --` precedes it, so it never reads a part short; with a
 * very short boundary (`b0`) it fails on most real images, which then pass through. The official clients and curl
 * send 30 to 40 character boundaries.
 */
async function readForm(
  raw: Uint8Array,
  contentType: string,
  ignored: ReadonlySet<string>,
): Promise<EditForm | undefined> {
  if (!/^multipart\/form-data\s*;/i.test(contentType) || rereadsParts(raw, contentType)) return undefined;
  let form: FormData;
  try {
    form = await new Response(raw as Uint8Array<ArrayBuffer>, { headers: { 'content-type': contentType } }).formData();
  } catch {
    return undefined;
  }
  const result: EditForm = { model: '', prompt: '', images: [], mask: null, params: {}, fields: {} };
  let prompts = 0;
  let masks = 0;
  // forEach rather than for…of: the TypeScript lib in use does not type FormData as iterable.
  const entries: [string, string | File][] = [];
  form.forEach((value, name) => {
    entries.push([name, value]);
  });
  for (const [name, value] of entries) {
    if (name.includes('\ufffd') || (typeof value === 'string' && value.includes('\ufffd'))) return undefined;
    const item = typeof value === 'string' ? value : await digest(value);
    if (typeof value === 'string') result.fields[name] = value;
    if (name === 'prompt' && typeof item === 'string') {
      result.prompt = item;
      prompts++;
    } else if (name === 'model' && typeof item === 'string') {
      result.model = item;
    } else if ((name === 'image' || name === 'image[]') && typeof item !== 'string') {
      result.images.push({ field: name, file: item });
    } else if (name === 'mask' && typeof item !== 'string') {
      result.mask = item;
      masks++;
    } else if (!ignored.has(name)) {
      const values = (result.params[name] as unknown[] | undefined) ?? [];
      values.push(item);
      result.params[name] = values;
    }
  }
  // One prompt, one mask at most, a model given at most once: anything else is for the upstream to judge.
  if (prompts !== 1 || masks > 1 || form.getAll('model').length > 1 || result.images.length === 0) return undefined;
  return result;
}

/**
 * POST /v1/images/edits (multipart), cached for `n = 1` only: asking for several edits usually means wanting
 * different ones. The key holds the model, prompt and every other field, and the SHA-256 of every image (in order)
 * and of the mask (seed 001's `img-edit:{model}:{image_hash}:{prompt_hash}:{has_mask}`); the body goes upstream
 * byte for byte. Streamed edits (`stream=true`, partial images) pass through.
 */
export async function imageEdits(context: ProxyContext, req: ProxyRequest): Promise<Answer> {
  const incoming = incomingOf(req);
  const raw = await readRequestBody(req, context);
  const contentType = req.headers.get('content-type') ?? '';
  const form = await readForm(raw, contentType, context.options.ignoreParams);
  const pass = (reason: string) => bypassed(context, req, 'images', form?.model, incoming, raw, reason);
  const endpoint = context.options.endpoints.images;
  if (!endpoint) return pass('endpoint-off');
  if (!form || form.fields.stream === 'true') return pass('unkeyable');
  if ((form.fields.n ?? '1') !== '1') return pass('multiple-images');
  const planned = await plan(context, req, endpoint, incoming);
  if (planned.bypass !== undefined) return pass(planned.bypass);
  const { n: _n, ...params } = form.params;
  const input = { prompt: form.prompt, images: form.images, mask: form.mask };
  const request = cacheRequest(context, 'image-edit', form.model, input, params, planned.scope);
  const urls = answersWithUrls(form.fields);
  return cachedImages(context, req, { request, directives: planned.directives, endpoint, raw, urls });
}
