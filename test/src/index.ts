export { startRedisServer, ensureRedisBinary, freePort } from './redis-server.js';
export type { RedisServer } from './redis-server.js';
export { STORE_KINDS, storeUrl, redisUrl, tempDir, uniqueNamespace } from './stores.js';
export type { StoreKind } from './stores.js';
