import { endpointLabel } from '@llmemo/core';
import { DEFAULT_DROPPED_LLM_KEY_ENTRIES, isSecretName } from './llm-key.js';

/**
 * What withCache reads from the model it holds, beyond the llmKey LangChain builds: where the model's requests go,
 * its own invocation params, and its model id. The llmKey alone misses all three for some classes:
 * `AzureChatOpenAI` keys only `model` (every deployment without one is `gpt-3.5-turbo`), `ChatAnthropic` leaves out
 * its API URL, and `ChatGoogleGenerativeAI` keys nothing but its class.
 */

/** Fields that select where a request goes, as the chat classes name them (instance fields, read as set). */
const ENDPOINT_FIELDS = [
  // @langchain/openai's Azure classes: what getEndpoint() and the AzureOpenAI client build the URL from.
  'azureOpenAIApiDeploymentName',
  'azureOpenAIApiInstanceName',
  'azureOpenAIEndpoint',
  'azureOpenAIBasePath',
  'azureOpenAIApiVersion',
  // @langchain/anthropic (apiUrl: anthropicApiUrl, clientOptions.baseURL or ANTHROPIC_API_URL/ANTHROPIC_BASE_URL).
  'apiUrl',
  // @langchain/google-genai and others (ChatOllama, ChatMistralAI, …).
  'baseUrl',
  'baseURL',
  'endpoint',
  'endpointUrl',
  'apiBase',
  'apiVersion',
  'deploymentName',
  // Cloud classes route by region or location (Bedrock, Vertex).
  'region',
  'location',
] as const;

/** Client configuration objects whose base URL and default query select the endpoint. */
const CLIENT_CONFIG_FIELDS = ['clientConfig', 'clientOptions', 'configuration'] as const;

type Fields = Record<string, unknown>;

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function env(name: string): string | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

function isAzure(model: Fields): boolean {
  return ENDPOINT_FIELDS.slice(0, 5).some((field) => field in model);
}

/**
 * The fields of `model` that decide where its requests go, read the way its package builds the request URL, with
 * what its client would read from the environment when a field is unset.
 */
export function endpointFields(model: object): Fields {
  const fields = model as Fields;
  const out: Fields = {};
  for (const name of ENDPOINT_FIELDS) {
    const value = fields[name];
    if (typeof value === 'string' && value.length > 0) out[name] = value;
  }
  for (const name of CLIENT_CONFIG_FIELDS) {
    const config = fields[name];
    if (!isRecord(config)) continue;
    if (typeof config.baseURL === 'string') out[`${name}.baseURL`] = config.baseURL;
    if (isRecord(config.defaultQuery)) out[`${name}.defaultQuery`] = config.defaultQuery;
  }
  if (isRecord(fields.clientConfig)) {
    // The openai client reads these when the model sets none.
    if (isAzure(fields)) out.azureOpenAIApiVersion ??= env('OPENAI_API_VERSION');
    else out['clientConfig.baseURL'] ??= env('OPENAI_BASE_URL');
  }
  // @google/generative-ai keeps the API version and base URL on the model's client.
  const client = fields.client;
  if (isRecord(client) && isRecord(client._requestOptions)) {
    const request = client._requestOptions;
    if (typeof request.apiVersion === 'string') out['client.apiVersion'] = request.apiVersion;
    if (typeof request.baseUrl === 'string') out['client.baseUrl'] = request.baseUrl;
  }
  return out;
}

/**
 * Labels by the exact endpoint fields they were built from: building one parses each URL, and a model's fields
 * (read on every call, so a changed field or environment variable counts at once) rarely change.
 */
const labels = new Map<string, string | undefined>();
const MAX_LABELS = 256;

/**
 * The memo key of endpoint fields whose values are all strings: the names and values, JSON-quoted, so distinct
 * fields never share one. Undefined (not memoized) when a value is anything else, such as a `defaultQuery` object.
 */
function labelKey(fields: Fields): string | undefined {
  const parts: string[] = [];
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') return undefined;
    parts.push(name, value);
  }
  return JSON.stringify(parts);
}

/** The endpoint label for a cached model: its endpoint fields and the binding's scope. */
export function modelEndpoint(model: object, scope: string | undefined): string | undefined {
  const fields = endpointFields(model);
  fields.scope = scope;
  const key = labelKey(fields);
  if (key === undefined) return endpointLabel(fields);
  if (labels.has(key)) return labels.get(key);
  if (labels.size >= MAX_LABELS) labels.clear();
  const label = endpointLabel(fields);
  labels.set(key, label);
  return label;
}

const DROPPED = new Set([...DEFAULT_DROPPED_LLM_KEY_ENTRIES, 'cache', 'verbose', 'client', 'createClient']);

/**
 * Plain JSON data of `value`: functions, undefined, class instances (clients, agents, Headers) and credential
 * fields are left out, so what remains is what a request carries. Throws on a cycle.
 */
export function plainSettings(value: unknown, seen: Set<unknown> = new Set()): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (seen.has(value)) throw new TypeError('the model settings hold a cycle');
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => plainSettings(item, seen) ?? null);
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return undefined;
    const out: Fields = {};
    for (const [name, item] of Object.entries(value)) {
      if (isSecretName(name) || DROPPED.has(name)) continue;
      const plain = plainSettings(item, seen);
      if (plain !== undefined) out[name] = plain;
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

const MODEL_FIELDS = ['model', 'modelName', 'model_name', 'modelId', 'model_id'];

/** The model id a chat model instance names, or undefined. */
export function instanceModel(model: object): string | undefined {
  for (const field of MODEL_FIELDS) {
    const value = (model as Fields)[field];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}

interface InvocationParamsOwner {
  invocationParams?: (options?: unknown) => unknown;
  lc_kwargs?: unknown;
}

/**
 * The model's own settings for this call: `invocationParams(options)` (what it sends: sampling settings, tools,
 * response format, thinking), plus its constructor fields (`lc_kwargs`) when the llmKey named no model, since a
 * class without identifying params (ChatGoogleGenerativeAI) keeps safety settings and the model id out of both.
 */
export function modelSettings(model: object, options: unknown, llmKeyNamesModel: boolean): Fields {
  const owner = model as InvocationParamsOwner;
  const settings: Fields = {};
  if (typeof owner.invocationParams === 'function') {
    settings.invocation = plainSettings(owner.invocationParams(options));
  }
  if (!llmKeyNamesModel) settings.fields = plainSettings(owner.lc_kwargs);
  const cachedContent = (model as { client?: { cachedContent?: { name?: unknown } } }).client?.cachedContent?.name;
  if (typeof cachedContent === 'string') settings.cachedContent = cachedContent;
  return settings;
}
