// Prints how much compression saves on the test corpus (`node --import tsx --conditions=@llmemo/source
// packages/core/scripts/compression-report.ts`). The numbers in the core README come from this script.
import { randomBytes } from 'node:crypto';
import { type CacheOptions, createCache } from '../src/index.js';
import { responseCorpus } from '../test/fixtures/corpus.js';

const corpus = responseCorpus(300);
const kinds = ['chat', 'stream', 'embedding', 'object', 'all'] as const;

async function measure(
  options: CacheOptions,
): Promise<{ envelope: Record<string, number>; wrapped: Record<string, number> }> {
  const cache = createCache({
    ...options,
    maxEntries: 100_000,
    maxBytes: 1 << 30,
    maxEntryBytes: 1 << 26,
    pruneInterval: false,
  });
  const envelope: Record<string, number> = {};
  const wrapped: Record<string, number> = {};
  for (const [index, item] of corpus.entries()) {
    const request = { kind: 'chat', provider: 'p', model: 'm', input: `corpus ${index}` };
    await cache.set(request, item.value);
    const text = (await cache.store.get(cache.key(request)))!;
    // What SQLite and Redis hold: Keyv's JSON wrapper around the entry text.
    const stored = JSON.stringify({ value: text, expires: Date.now() });
    for (const kind of [item.kind, 'all']) {
      envelope[kind] = (envelope[kind] ?? 0) + Buffer.byteLength(text);
      wrapped[kind] = (wrapped[kind] ?? 0) + Buffer.byteLength(stored);
    }
  }
  await cache.close();
  return { envelope, wrapped };
}

const key = randomBytes(32);
const variants: [string, CacheOptions][] = [
  ['none', { compression: false }],
  ['gzip', { compression: 'gzip' }],
  ['brotli', { compression: 'brotli' }],
  ['encrypted', { encryption: { key } }],
  ['gzip + encrypted', { compression: 'gzip', encryption: { key } }],
];
const results = new Map<string, Awaited<ReturnType<typeof measure>>>();
for (const [name, options] of variants) results.set(name, await measure(options));
const base = results.get('none')!;
const counts = Object.fromEntries(
  kinds.map((k) => [k, k === 'all' ? corpus.length : corpus.filter((i) => i.kind === k).length]),
);
const lines = [
  `Corpus: ${corpus.length} values (${kinds
    .filter((k) => k !== 'all')
    .map((k) => `${counts[k]} ${k}`)
    .join(', ')}).`,
  '',
  `| setting | ${kinds.map((k) => `${k} (stored in SQLite/Redis)`).join(' | ')} |`,
  `|---|${kinds.map(() => '---|').join('')}`,
];
for (const [name] of variants) {
  const r = results.get(name)!;
  const cells = kinds.map((k) => {
    const bytes = r.wrapped[k]!;
    const saved = 1 - bytes / base.wrapped[k]!;
    return `${(bytes / 1024).toFixed(0)} KiB (${saved >= 0 ? '−' : '+'}${Math.abs(saved * 100).toFixed(0)}%)`;
  });
  lines.push(`| ${name} | ${cells.join(' | ')} |`);
}
lines.push('', 'Entry text alone (memory://, before the Keyv wrapper):', '');
for (const [name] of variants) {
  const r = results.get(name)!;
  lines.push(
    `- ${name}: ${kinds.map((k) => `${k} ${((1 - r.envelope[k]! / base.envelope[k]!) * 100).toFixed(0)}%`).join(', ')} saved`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
