import { readFileSync } from 'node:fs';
import { CliError } from './errors.js';

/** The proxy endpoints `llmemo warm` sends to: the ones the proxy caches by body. */
export const WARM_PATHS = ['/v1/chat/completions', '/v1/embeddings', '/v1/images/generations'] as const;
export type WarmPath = (typeof WARM_PATHS)[number];

/** One request of a warm file, with its line number for messages. */
export interface WarmRequest {
  line: number;
  path: WarmPath;
  body: Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The endpoint of a bare request body: chat has messages, embeddings input, images a prompt. */
function pathOfBody(body: Record<string, unknown>): WarmPath | undefined {
  if (Array.isArray(body.messages)) return '/v1/chat/completions';
  if (body.input !== undefined) return '/v1/embeddings';
  if (typeof body.prompt === 'string') return '/v1/images/generations';
  return undefined;
}

/**
 * One line: the OpenAI Batch API form `{ "custom_id", "method": "POST", "url": "/v1/chat/completions", "body" }`,
 * or a bare request body (chat completions, embeddings or image generations, told apart by their fields).
 */
function parseLine(text: string, line: number, source: string): WarmRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(
      `${source} line ${line} is not JSON: each line is one OpenAI request body (or a Batch API line).`,
    );
  }
  if (!isObject(parsed)) throw new CliError(`${source} line ${line} is not a JSON object.`);
  if (isObject(parsed.body) && typeof parsed.url === 'string') {
    const url = parsed.url.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '');
    const path = (url.startsWith('/v1/') ? url : `/v1${url.startsWith('/') ? '' : '/'}${url}`) as WarmPath;
    if (parsed.method !== undefined && String(parsed.method).toUpperCase() !== 'POST') {
      throw new CliError(`${source} line ${line}: method ${String(parsed.method)}; warm sends POST requests only.`);
    }
    if (!WARM_PATHS.includes(path)) {
      throw new CliError(
        `${source} line ${line}: ${parsed.url} is not cached by the proxy; use ${WARM_PATHS.join(', ')}.`,
      );
    }
    return { line, path, body: parsed.body };
  }
  const path = pathOfBody(parsed);
  if (path === undefined) {
    throw new CliError(
      `${source} line ${line} is not a chat completions, embeddings or image request (no messages, input or prompt).`,
    );
  }
  return { line, path, body: parsed };
}

/** Reads and checks every line first, so a bad file fails before any request is sent. */
export function readWarmFile(file: string): WarmRequest[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}.`);
  }
  const requests: WarmRequest[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    if (raw.trim() === '') continue;
    requests.push(parseLine(raw, index + 1, file));
  }
  if (requests.length === 0) throw new CliError(`${file} holds no requests: write one JSON request per line.`);
  return requests;
}

/** `http://host:8787`, `http://host:8787/v1` (as llmemo-proxy prints it) or with a trailing slash → the origin path. */
export function proxyBase(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(
      `--proxy must be the proxy's URL, like http://127.0.0.1:8787/v1; got ${JSON.stringify(url)}.`,
      2,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(`--proxy must be an http:// or https:// URL; got ${parsed.protocol}.`, 2);
  }
  const path = parsed.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${parsed.origin}${path}`;
}
