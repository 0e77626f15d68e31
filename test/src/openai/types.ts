import type { IncomingHttpHeaders } from 'node:http';

/** One HTTP request as the server received it. */
export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string, e.g. '/v1/chat/completions'. */
  readonly path: string;
  /** The query string with its '?' ('?api-version=2024-10-21'), or '' when there is none. */
  readonly query: string;
  /** The `basePaths` prefix the request came under (`path` is then the rest), when the server has any. */
  readonly basePath?: string;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
  /** Date.now() when the body had been read. */
  readonly at: number;
}

/** A message reduced to role and plain text, the same shape for both text endpoints. */
export interface NormalizedMessage {
  readonly role: string;
  readonly text: string;
}

/** What a responder sees: the recorded request plus a normalized view of it. */
export interface ReplyRequest extends RecordedRequest {
  readonly endpoint: 'chat.completions' | 'responses';
  readonly model: string;
  readonly stream: boolean;
  /** System/developer instructions and conversation turns, in order. */
  readonly messages: readonly NormalizedMessage[];
  /** Text of the last user message ('' if none). */
  readonly lastUserText: string;
  /** Tool outputs sent back by the client (role 'tool' / function_call_output items), in order. */
  readonly toolResults: readonly { readonly callId: string; readonly output: string }[];
  /** Names of the function tools offered in the request. */
  readonly toolNames: readonly string[];
  /** JSON schema requested for structured output, if any. */
  readonly jsonSchema: Record<string, unknown> | undefined;
  /** True when structured output was requested (json_schema or json_object). */
  readonly wantsJson: boolean;
}

export interface ScriptedToolCall {
  readonly name: string;
  /** An object is JSON-encoded; a string is sent as is (so it may be invalid JSON on purpose). */
  readonly arguments: Record<string, unknown> | string;
  /** Tool call id (chat `id`, Responses `call_id`); generated when omitted. */
  readonly id?: string;
}

/** Token counts in provider-neutral names; each maps to both chat and Responses usage fields. */
export interface ScriptedUsage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly reasoningTokens?: number;
  readonly cachedTokens?: number;
}

export interface ScriptedError {
  readonly message?: string;
  readonly type?: string;
  readonly code?: string | null;
  readonly param?: string | null;
}

/** How the server answers one text-generation request. Every field is optional. */
export interface ScriptedReply {
  readonly text?: string;
  /** Serialized with JSON.stringify and returned as the content text (structured output). */
  readonly json?: unknown;
  /** Responses API: a reasoning item with a summary. Chat completions: `reasoning_content`. */
  readonly reasoning?: string;
  readonly toolCalls?: readonly ScriptedToolCall[];
  /** Chat-completions vocabulary; mapped to Responses `status`/`incomplete_details`. */
  /** 'error' is what some gateways answer (with a 200) for a generation that failed. */
  readonly finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error';
  readonly usage?: ScriptedUsage;
  /** false: streams carry no usage chunk even with include_usage, as some OpenAI-compatible servers do. */
  readonly streamUsage?: boolean;
  /** Model id reported in the response (e.g. a dated snapshot); defaults to the requested id. */
  readonly model?: string;
  /** How the text is split into stream deltas; their concatenation becomes the text. */
  readonly chunks?: readonly string[];
  /** An HTTP status >= 400 turns the reply into an OpenAI-style error response. */
  readonly status?: number;
  readonly error?: ScriptedError | string;
  /** Extra response headers (e.g. retry-after on a 429). */
  readonly headers?: Readonly<Record<string, string>>;
}

export type Responder = (request: ReplyRequest) => ScriptedReply | undefined | Promise<ScriptedReply | undefined>;

export interface Latency {
  /** Streams: wait before the first SSE event. */
  readonly firstTokenMs?: number;
  /** Streams: wait between SSE events. */
  readonly perTokenMs?: number;
  /** Non-streaming responses: wait before answering. */
  readonly responseMs?: number;
}

/** Which requests a one-shot fault applies to: an exact path or a predicate. Default: any. */
export type RequestMatcher = string | ((request: RecordedRequest) => boolean);

export interface FailOptions {
  readonly status?: number;
  readonly message?: string;
  readonly type?: string;
  readonly code?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
  readonly match?: RequestMatcher;
}

export interface OpenAITestServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Embedding size when the request has no `dimensions`. Default 8. */
  readonly embeddingDimensions?: number;
  /** Ids listed by GET /v1/models. */
  readonly models?: readonly string[];
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get a 401. */
  readonly apiKey?: string;
  /**
   * Path prefixes served like the root, e.g. ['/llama-8b', '/llama-70b']: `/llama-8b/v1/chat/completions` answers
   * as `/v1/chat/completions` (the request log keeps the full path), for upstreams that differ only by base path.
   */
  readonly basePaths?: readonly string[];
}

export interface OpenAITestServer {
  /** Base URL including '/v1', for `baseURL` options, e.g. http://127.0.0.1:PORT/v1. */
  readonly url: string;
  /** Same as url. */
  readonly baseURL: string;
  /** Origin without '/v1', e.g. http://127.0.0.1:PORT. */
  readonly origin: string;
  readonly port: number;
  /** Every request received since start or the last reset, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Request count per path. */
  readonly counts: Readonly<Record<string, number>>;
  /** Number of requests: all, those to one exact path, or those matching a predicate. */
  count(pathOrPredicate?: RequestMatcher): number;
  /** Requests whose path is exactly `path`. */
  requestsTo(path: string): readonly RecordedRequest[];
  /** Sets the persistent reply (or responder) for text-generation requests. */
  script(reply: ScriptedReply | Responder): void;
  /** Queues one-shot replies for the next text-generation requests, consumed in order before the script. */
  enqueue(...replies: ScriptedReply[]): void;
  setLatency(latency: Latency): void;
  /** The next n matching requests fail with an OpenAI error body (default 500). */
  failNext(n?: number, options?: FailOptions): void;
  /** The next streaming response is cut (socket destroyed) after `afterChunks` SSE events. */
  cutNextStream(options?: { readonly afterChunks?: number }): void;
  /** The next n matching requests are received and recorded but never answered. */
  hangNext(n?: number, options?: { readonly match?: RequestMatcher }): void;
  /** Closes the listener and drops every open connection: new connections are refused. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  readonly isUp: boolean;
  /** Clears the request log, script, queue, latency and pending faults. */
  reset(): void;
  close(): Promise<void>;
}
