import type { ServerResponse } from 'node:http';
import { chatCompletion, chatCompletionEvents } from './chat-completions.js';
import type { Controls } from './controls.js';
import { embeddingInputs, embeddingsResponse } from './embeddings.js';
import { sendError, sendJson, wait } from './http.js';
import { imagesResponse } from './images.js';
import { modelList, modelObject } from './models.js';
import type { RecordedFile } from './multipart.js';
import { normalizeChatRequest, normalizeResponsesRequest } from './normalize.js';
import { responseEvents, responseObject } from './responses.js';
import { resolveReply } from './script.js';
import { sendEventStream } from './sse.js';
import { nextId } from './text.js';
import type { RecordedRequest } from './types.js';

export interface RouteContext {
  readonly controls: Controls;
  readonly models: readonly string[];
  readonly embeddingDimensions: number;
  /** Images answered as URLs are served back from memory. */
  readonly images: Map<string, Buffer>;
  readonly origin: () => string;
}

type Body = Record<string, unknown>;

function isFile(value: unknown): value is RecordedFile {
  return typeof value === 'object' && value !== null && typeof (value as RecordedFile).sha256 === 'string';
}

function bodyOf(request: RecordedRequest): Body | undefined {
  const { body } = request;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : undefined;
}

/** The real API's wording for a missing field, so a proxy that drops one is caught by its error, not a silent echo. */
function missing(res: ServerResponse, param: string): void {
  sendError(res, 400, {
    message: `Missing required parameter: '${param}'.`,
    param,
    code: 'missing_required_parameter',
  });
}

/** Sends a non-streaming body after the configured response latency, unless the client left meanwhile. */
async function answer(context: RouteContext, res: ServerResponse, body: unknown, headers?: Record<string, string>) {
  if (await wait(context.controls.latency.responseMs, res)) sendJson(res, 200, body, headers);
}

async function generate(
  context: RouteContext,
  recorded: RecordedRequest,
  res: ServerResponse,
  kind: 'chat' | 'responses',
) {
  const request = kind === 'chat' ? normalizeChatRequest(recorded) : normalizeResponsesRequest(recorded);
  const reply = resolveReply((await context.controls.replyFor(request)) ?? {}, request);
  const headers = reply.headers ? { ...reply.headers } : undefined;
  if (reply.kind === 'error') {
    if (await wait(context.controls.latency.responseMs, res)) sendError(res, reply.status, reply.error, headers);
    return;
  }
  if (request.stream) {
    const { firstTokenMs, perTokenMs } = context.controls.latency;
    const events = kind === 'chat' ? chatCompletionEvents(reply, request) : responseEvents(reply, request);
    await sendEventStream(res, events, { firstTokenMs, perTokenMs, cutAfter: context.controls.takeCut(), headers });
    return;
  }
  await answer(context, res, kind === 'chat' ? chatCompletion(reply) : responseObject(reply, request), headers);
}

/**
 * Text, embedding and image routes answer under any base path (`/v1/chat/completions`, `/llama-8b/v1/…`, Azure's
 * `/openai/deployments/<name>/chat/completions`), so tests can give two clients two endpoints on one server.
 */
function under(path: string, operation: string): boolean {
  return path.endsWith(operation);
}

export async function route(context: RouteContext, recorded: RecordedRequest, res: ServerResponse): Promise<void> {
  const { method, path } = recorded;
  const body = bodyOf(recorded);
  const post = method === 'POST';

  if (post && under(path, '/chat/completions')) {
    if (typeof body?.model !== 'string') return missing(res, 'model');
    if (!Array.isArray(body.messages) || body.messages.length === 0) return missing(res, 'messages');
    return generate(context, recorded, res, 'chat');
  }

  if (post && under(path, '/responses')) {
    if (typeof body?.model !== 'string') return missing(res, 'model');
    if (body.input === undefined && body.previous_response_id === undefined) return missing(res, 'input');
    return generate(context, recorded, res, 'responses');
  }

  if (post && under(path, '/embeddings')) {
    if (typeof body?.model !== 'string') return missing(res, 'model');
    const inputs = embeddingInputs(body.input);
    if (!inputs) return missing(res, 'input');
    return answer(context, res, embeddingsResponse(body, inputs, context.embeddingDimensions));
  }

  if (post && under(path, '/images/generations')) {
    if (typeof body?.prompt !== 'string') return missing(res, 'prompt');
    const response = imagesResponse({ ...body, prompt: body.prompt }, (png) => {
      const name = `${nextId('img-')}.png`;
      context.images.set(name, png);
      return `${context.origin()}/files/images/${name}`;
    });
    return answer(context, res, response);
  }

  if (post && under(path, '/images/edits')) {
    if (typeof body?.prompt !== 'string') return missing(res, 'prompt');
    const images = [body.image, body['image[]']].flat().filter((file) => isFile(file));
    if (images.length === 0) return missing(res, 'image');
    // Each edit depends on the prompt, every input image's bytes (in order) and the mask's, so tests can tell them apart.
    const inputs = [...images, ...(isFile(body.mask) ? [body.mask] : [])].map((file) => file.sha256).join(',');
    const n = body.n === undefined ? undefined : Number(body.n);
    const response = imagesResponse({ ...body, n, prompt: `${body.prompt}\u0000${inputs}` }, (png) => {
      const name = `${nextId('img-')}.png`;
      context.images.set(name, png);
      return `${context.origin()}/files/images/${name}`;
    });
    return answer(context, res, response);
  }

  if (method === 'GET' && path === '/v1/models') return answer(context, res, modelList(context.models));

  if (method === 'GET' && path.startsWith('/v1/models/')) {
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    if (context.models.includes(id)) return answer(context, res, modelObject(id));
    return sendError(res, 404, {
      message: `The model '${id}' does not exist`,
      param: 'model',
      code: 'model_not_found',
    });
  }

  if (method === 'GET' && path.startsWith('/files/images/')) {
    const png = context.images.get(path.slice('/files/images/'.length));
    if (png) {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
      res.end(png);
      return;
    }
  }

  sendError(res, 404, { message: `Invalid URL (${method} ${path})` });
}
