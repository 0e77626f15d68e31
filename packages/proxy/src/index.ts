export type { AccessLogEntry } from './access-log.js';
export type { PurgeFilter } from './admin.js';
export { CREDENTIAL_HEADERS, CREDENTIAL_PARAMS } from './credentials.js';
export type { OpenAIErrorBody } from './errors.js';
export { credentialNamespace, NAMESPACE_SECRET_ENV, NAMESPACE_SECRET_KEY } from './namespace-secret.js';
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
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_IGNORED_PARAMS,
  DEFAULT_IMAGE_URL_TTL_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MODELS_TTL_MS,
} from './options.js';
export { createProxy, type LlmemoProxy } from './proxy.js';
export type { Reconfigured } from './reconfigure.js';
export { PROXY_SPEC_VERSION } from './request-key.js';
export { type RunningProxy, type StartProxyOptions, startProxy } from './serve.js';
