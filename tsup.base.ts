import type { Options } from 'tsup';

/**
 * How every package builds its library entry: ESM and CJS with .d.ts, for Node 20. Packages add what is theirs
 * (shims, a bin entry) on top.
 */
export const library: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
};

/** A command-line entry: ESM only, with the shebang that lets npx run it. */
export function command(entry: Record<string, string>): Options {
  return { entry, format: ['esm'], sourcemap: true, target: 'node20', banner: { js: '#!/usr/bin/env node' } };
}
