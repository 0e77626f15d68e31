import { defineConfig } from 'tsup';
import { library } from '../../tsup.base.js';

// shims: import.meta.url in the CJS build (metrics.ts loads the optional @opentelemetry/api with createRequire).
export default defineConfig({ ...library, shims: true });
