import { defineConfig } from 'vitest/config';

// Tests import each package's TypeScript source through the '@llmemo/source' export condition, so a change is
// tested without a rebuild. The CLI tests run the built binary, which is why `pnpm test` builds first.
// No 'module' condition: it sends ai@5's @opentelemetry/api to a bundler-only ESM build that Node cannot load.
const conditions = ['@llmemo/source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@llmemo/source'] } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'test/e2e/**/*.test.ts',
      'test/compat/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
    ],
    globalSetup: ['test/src/global-setup.ts'],
    setupFiles: ['test/src/quiet-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
