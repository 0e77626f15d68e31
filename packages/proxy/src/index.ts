export type { PurgeFilter } from './admin.js';
export { PROXY_SPEC_VERSION } from './context.js';
export { namespaceForKey } from './directives.js';
export type { OpenAIErrorBody } from './errors.js';
export type {
  CacheableEndpoint,
  EndpointOptions,
  ImageEndpointOptions,
  ProxyEndpoints,
  ProxyOptions,
  ReplayPacing,
} from './options.js';
export {
  CACHEABLE_ENDPOINTS,
  DEFAULT_IGNORED_PARAMS,
  DEFAULT_IMAGE_URL_TTL_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MODELS_TTL_MS,
} from './options.js';
export { createProxy, type LlmemoProxy } from './proxy.js';
export { type RunningProxy, type StartProxyOptions, startProxy } from './serve.js';
