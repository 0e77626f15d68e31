export { cacheEmbeddingModel, embeddingCacheMiddleware } from './embedding.js';
export { imageCacheMiddleware } from './image.js';
export { cacheMiddleware } from './language-model.js';
export type {
  CacheInfo,
  CacheMiddlewareOptions,
  EmbeddingCacheInfo,
  EmbeddingCacheOptions,
  EmbeddingModelCacheMiddleware,
  EmbeddingModelLike,
  ImageCacheOptions,
  ImageModelCacheMiddleware,
  LanguageModelCacheMiddleware,
  ModelIdentity,
  ReplayPacing,
} from './types.js';
