import type { Responder, ScriptedReply } from './types.js';

/** Request headers that carry a caller's credential, whose last characters the echo repeats. */
const CREDENTIAL_HEADERS = [
  'authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'ocp-apim-subscription-key',
  'cf-aig-authorization',
  'cookie',
];
/** Request headers that change what a provider answers, which the echo repeats whole. */
const VARIANT_HEADERS = ['openai-beta', 'anthropic-beta', 'anthropic-version'];

export interface UniqueEcho {
  /** The responder to pass to `server.script()`. */
  readonly responder: Responder;
  /** How many text requests it has answered. */
  readonly calls: number;
}

/**
 * A responder whose every answer is unique and says what reached the upstream: a call counter, the last six
 * characters of each credential, the path and query, and the output-changing headers. A cache that serves one
 * request's answer to another is caught by the text alone, whatever the keys look like.
 */
export function uniqueEcho(extra: Omit<ScriptedReply, 'text' | 'chunks'> = {}): UniqueEcho {
  let calls = 0;
  const responder: Responder = (request) => {
    calls += 1;
    const parts = [`#${calls}`, `${request.method} ${request.basePath ?? ''}${request.path}${request.query}`];
    for (const name of CREDENTIAL_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string' && value !== '') parts.push(`${name}=…${value.slice(-6)}`);
    }
    for (const name of VARIANT_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') parts.push(`${name}=${value}`);
    }
    parts.push(`q=${request.lastUserText}`);
    return { ...extra, text: parts.join(' ') };
  };
  return {
    responder,
    get calls() {
      return calls;
    },
  };
}
