import type { GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { count, plural } from '../format.js';
import { Progress } from '../progress.js';
import { proxyBase, readWarmFile, type WarmRequest } from '../warm-requests.js';

export interface WarmOptions {
  proxy?: string;
  concurrency: number;
  apiKey?: string;
  dryRun?: boolean;
}

type Outcome = 'cached' | 'filled' | 'missing' | 'failed';

interface Result {
  outcome: Outcome;
  /** Why it failed, for the summary. */
  detail?: string;
}

/** The message of an OpenAI-shaped error body, or the start of the text. */
function errorMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: show the start of the text.
  }
  return text.slice(0, 200).replace(/\s+/g, ' ').trim();
}

/**
 * Sends one request through the proxy and reads how it was answered from `X-Cache`: HIT or STALE was cached
 * already, MISS was filled (the proxy called the upstream and stored the answer). A dry run asks for an answer
 * from the cache only (`Cache-Control: only-if-cached`): a 504 there means missing, and nothing goes upstream.
 */
async function send(base: string, apiKey: string, request: WarmRequest, dryRun: boolean): Promise<Result> {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  if (dryRun) headers['cache-control'] = 'only-if-cached';
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${base}${request.path}`, { method: 'POST', headers, body: JSON.stringify(request.body) });
    // Read to the end (a stream too): the proxy stores a stream only once it ran to completion.
    text = await response.text();
  } catch (error) {
    return { outcome: 'failed', detail: `the proxy did not answer (${(error as Error).message})` };
  }
  const status = response.headers.get('x-cache');
  const bypass = response.headers.get('x-llmemo-bypass');
  if (status === null) {
    return { outcome: 'failed', detail: `HTTP ${response.status} without X-Cache: is --proxy an llmemo-proxy?` };
  }
  if (bypass !== null) {
    return { outcome: 'failed', detail: `not cacheable by the proxy (x-llmemo-bypass: ${bypass})` };
  }
  if (response.ok && (status === 'HIT' || status === 'STALE')) return { outcome: 'cached' };
  if (response.ok && status === 'MISS' && !dryRun) return { outcome: 'filled' };
  if (dryRun && response.status === 504 && status === 'MISS') return { outcome: 'missing' };
  return { outcome: 'failed', detail: `HTTP ${response.status}: ${errorMessage(text)}` };
}

/** Fails early, with what to do, when nothing answers at the proxy's URL. */
async function checkProxy(base: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${base}/healthz`);
    await response.body?.cancel();
  } catch (error) {
    throw new CliError(
      `cannot reach the proxy at ${base} (${(error as Error).message}): start it with \`llmemo-proxy --upstream <url>\`, or fix --proxy.`,
    );
  }
  if (!response.ok) {
    throw new CliError(`${base}/healthz answered HTTP ${response.status}: is --proxy the URL of an llmemo-proxy?`);
  }
}

/** Runs `work` over the items with at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function summary(totals: Record<Outcome, number>, dryRun: boolean): string {
  if (dryRun) {
    return `${count(totals.cached)} already cached, ${count(totals.missing)} missing, ${count(totals.failed)} failed (dry run: nothing was sent upstream).`;
  }
  return `${count(totals.cached)} already cached, ${count(totals.filled)} filled, ${count(totals.failed)} failed.`;
}

/** Resolves when every request was cached or filled; throws (exit code 1) after the summary when some failed. */
export async function warmCommand(file: string, options: WarmOptions, globals: GlobalOptions): Promise<void> {
  if (!options.proxy) {
    throw new CliError('warm sends requests through a running proxy: pass --proxy http://127.0.0.1:8787/v1.', 2);
  }
  const apiKey = options.apiKey ?? process.env.OPENAI_API_KEY;
  if (!apiKey) {
    throw new CliError(
      "warm authenticates as your app does, so the entries land in that key's namespace: set OPENAI_API_KEY or pass --api-key.",
      2,
    );
  }
  if (options.concurrency < 1) throw new CliError('--concurrency must be at least 1.', 2);
  const base = proxyBase(options.proxy);
  const requests = readWarmFile(file);
  await checkProxy(base);
  const totals: Record<Outcome, number> = { cached: 0, filled: 0, missing: 0, failed: 0 };
  const failures: { line: number; detail: string }[] = [];
  const label = options.dryRun ? 'checking' : 'warming';
  const progress = new Progress(label, globals.progress ?? process.stderr.isTTY === true, requests.length, 'requests');
  await pool(requests, options.concurrency, async (request) => {
    const result = await send(base, apiKey, request, options.dryRun === true);
    totals[result.outcome]++;
    if (result.detail !== undefined) failures.push({ line: request.line, detail: result.detail });
    progress.tick();
  });
  progress.finish();
  failures.sort((a, b) => a.line - b.line);
  if (globals.json) {
    const { missing, filled, ...rest } = totals;
    const counts = options.dryRun ? { ...rest, missing } : { ...rest, filled };
    process.stdout.write(`${JSON.stringify({ requests: requests.length, ...counts, failures })}\n`);
  } else {
    process.stderr.write(
      `${plural(requests.length, 'request', 'requests')}: ${summary(totals, options.dryRun === true)}\n`,
    );
    for (const failure of failures.slice(0, 5)) process.stderr.write(`  line ${failure.line}: ${failure.detail}\n`);
    if (failures.length > 5) process.stderr.write(`  … and ${count(failures.length - 5)} more (--json lists all)\n`);
  }
  if (totals.failed > 0) {
    throw new CliError(
      `${plural(totals.failed, 'request', 'requests')} failed; fix what the lines above say and run warm again (what is cached is not sent upstream twice).`,
    );
  }
}
