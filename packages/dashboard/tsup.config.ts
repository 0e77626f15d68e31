import { defineConfig } from 'tsup';
import { library } from '../../tsup.base.js';

// shims: the CommonJS build finds the page's files through import.meta.url too.
export default defineConfig({ ...library, shims: true });
