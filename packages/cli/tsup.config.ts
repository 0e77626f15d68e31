import { defineConfig } from 'tsup';
import { library } from '../../tsup.base.js';

export default defineConfig({
  ...library,
  entry: ['src/index.ts', 'src/bin.ts'],
  // ESM only: the CLI is run, not required; `import()` it from CommonJS if needed. bin.ts carries its own shebang.
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
});
