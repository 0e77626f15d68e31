export type { RedisServer } from './redis-server.js';
export { ensureRedisBinary, freePort, startRedisServer } from './redis-server.js';
export type { StoreKind } from './stores.js';
export { redisUrl, STORE_KINDS, storeUrl, tempDir, uniqueNamespace } from './stores.js';
