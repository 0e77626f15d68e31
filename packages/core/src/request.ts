/** What adapters hand to core: one model call, described by data only. */
export interface CacheRequest {
  /** 'chat', 'embedding', 'image', 'langchain', or an adapter's own kind. */
  kind: string;
  /** The provider id, e.g. 'openai.chat'. */
  provider: string;
  /** The model id as the caller asked for it, e.g. 'gpt-4o' or 'ft:gpt-4o:org:x'. */
  model: string;
  /**
   * Where the request goes, when more than provider and model decide it: the endpoint's origin and base path, an
   * Azure deployment or resource, an api-version, a user's `scope`. Two requests with the same provider and model
   * id that reach different endpoints must not share an answer, so adapters fill this from what the model exposes.
   * Hashed into the digest (never written in the key in clear: it can hold host names).
   */
  endpoint?: string;
  /** The framework's result-shape version ('v2', 'v3', 'v4'): entries are replayed only into the same version. */
  specVersion?: string;
  /** The prompt: messages, a string, or embedding inputs. Its text is normalized before hashing. */
  input: unknown;
  /** Everything else that can change the output: sampling settings, tools, response format, provider options. */
  params?: Record<string, unknown>;
}
