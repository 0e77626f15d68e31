// Runs the shared scenarios as vitest tests. Each compat package calls this from its own test file, passing the
// vitest functions and its pinned modules, so nothing here resolves a package on its own.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type Kit, scenarios } from './scenarios.js';

// Vitest's functions, passed in by the suite that owns them.
type Any = any;

export interface SuiteOptions {
  vitest: { describe: Any; it: Any; beforeAll: Any; afterAll: Any; beforeEach: Any; expect: Any };
  kit: Omit<Kit, 'server' | 'storeUrl' | 'namespace'>;
  createServer: () => Promise<Any>;
  storeUrl: (kind: 'sqlite' | 'redis') => string;
  uniqueNamespace: (label: string) => string;
  /** The compat package's tsconfig.json, type-checked by one test. */
  tsconfig: URL;
}

export function compatSuite({ vitest, kit, createServer, storeUrl, uniqueNamespace, tsconfig }: SuiteOptions): void {
  const { describe, it, beforeAll, afterAll, beforeEach, expect } = vitest;
  let server: Any;
  beforeAll(async () => {
    server = await createServer();
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => server.reset());

  for (const store of ['sqlite', 'redis'] as const) {
    describe(`ai ${kit.spec} middleware on ${store}`, () => {
      for (const scenario of scenarios.filter((s) => !s.skipOn?.includes(kit.spec))) {
        it(scenario.name, () =>
          scenario.run({
            ...kit,
            server,
            storeUrl: () => storeUrl(store),
            namespace: () => uniqueNamespace(`compat-${kit.spec}`),
          }),
        );
      }
    });
  }

  it('the package type-checks against this major: the middleware objects are its middleware types', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', fileURLToPath(tsconfig)], { encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  }, 120_000);
}
