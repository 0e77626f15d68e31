import { type CacheOptions, isLlmemoError, LlmemoError, parseDuration } from '@llmemo/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger as Pino } from 'pino';
import {
  CACHEABLE_ENDPOINTS,
  type CacheableEndpoint,
  type ProxyEndpoints,
  type ReplayPacing,
  type StartProxyOptions,
  startProxy,
} from './index.js';
import { accessLogger, coreLogger, createLogger, LOG_LEVELS, type LogFormat, type LogLevel } from './logging.js';
import { redact } from './redact.js';

export { redact };

interface Flags {
  upstream: string;
  anthropicUpstream?: string;
  store: string;
  port: number;
  host: string;
  ttl?: string;
  cache: string;
  chatTtl?: string;
  messagesTtl?: string;
  embeddingsTtl?: string;
  imagesTtl?: string;
  modelsTtl?: string;
  imageUrlTtl?: string;
  cacheMultipleImages?: boolean;
  namespaceHeader: boolean;
  anonymousNamespace?: string;
  credentialHeaders?: string;
  credentialParams?: string;
  cacheContentFilter?: boolean;
  maxInflightBytes?: number;
  bodyTimeout?: string;
  logLevel: LogLevel;
  logFormat?: LogFormat;
  provider?: string;
  ignoreParams?: string;
  maxBodySize?: number;
  replay?: ReplayPacing;
  normalize?: 'default' | 'none';
  storeTimeout?: number;
  upstreamTimeout?: string;
  metrics: boolean;
  staleIfError?: string;
  quiet?: boolean;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number.');
  return n;
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

function size(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!match) throw new InvalidArgumentError("expected a size like '32mb', '512kb' or a number of bytes.");
  return Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]!);
}

function pacing(value: string): ReplayPacing {
  if (value === 'instant' || value === 'recorded') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError("expected 'instant', 'recorded' or a delay in ms between events.");
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export function buildProgram(): Command {
  return new Command()
    .name('llmemo-proxy')
    .description(
      'An OpenAI-compatible caching proxy: point OPENAI_BASE_URL at it and repeated requests are answered from the cache.',
    )
    .addOption(
      new Option('--upstream <url>', "OpenAI-compatible server to forward to, e.g. 'https://api.openai.com'")
        .env('LLMEMO_UPSTREAM')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--anthropic-upstream <url>',
        "Anthropic Messages API for /v1/messages, e.g. 'https://api.anthropic.com' (default: --upstream)",
      ).env('LLMEMO_ANTHROPIC_UPSTREAM'),
    )
    .addOption(
      new Option('--store <url>', "cache store: 'memory://', 'sqlite://<path>', 'redis://host:6379'")
        .env('LLMEMO_STORE')
        .default('memory://'),
    )
    .addOption(new Option('-p, --port <n>', 'port to listen on').env('LLMEMO_PORT').default(8787).argParser(integer))
    .addOption(
      new Option('--host <host>', "interface to listen on ('0.0.0.0' for all, e.g. in a container)")
        .env('LLMEMO_HOST')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option('--ttl <duration>', "how long entries stay fresh ('7d' default; '1h', '90s')").env('LLMEMO_TTL'),
    )
    .addOption(
      new Option(
        '--cache <endpoints>',
        `endpoints that cache (comma list of ${CACHEABLE_ENDPOINTS.join(', ')}; 'none')`,
      )
        .env('LLMEMO_CACHE')
        .default(CACHEABLE_ENDPOINTS.join(',')),
    )
    .addOption(new Option('--chat-ttl <duration>', 'ttl for chat completions').env('LLMEMO_CHAT_TTL'))
    .addOption(new Option('--messages-ttl <duration>', 'ttl for Anthropic messages').env('LLMEMO_MESSAGES_TTL'))
    .addOption(new Option('--embeddings-ttl <duration>', 'ttl for embeddings').env('LLMEMO_EMBEDDINGS_TTL'))
    .addOption(new Option('--images-ttl <duration>', 'ttl for image generations').env('LLMEMO_IMAGES_TTL'))
    .addOption(new Option('--models-ttl <duration>', "ttl for the model list (default '5m')").env('LLMEMO_MODELS_TTL'))
    .addOption(
      new Option('--image-url-ttl <duration>', "cap for answers holding image URLs (default '50m')").env(
        'LLMEMO_IMAGE_URL_TTL',
      ),
    )
    .addOption(
      new Option('--cache-multiple-images', 'also cache image requests with n > 1').env('LLMEMO_CACHE_MULTIPLE_IMAGES'),
    )
    .addOption(
      new Option('--no-namespace-header', 'ignore x-llmemo-namespace (a sub-namespace of the caller’s own)').env(
        'LLMEMO_NO_NAMESPACE_HEADER',
      ),
    )
    .addOption(
      new Option(
        '--anonymous-namespace <name>',
        'cache requests without a credential in this shared namespace (default: they go upstream uncached)',
      ).env('LLMEMO_ANONYMOUS_NAMESPACE'),
    )
    .addOption(
      new Option('--credential-headers <names>', 'more request headers that carry credentials (comma list)').env(
        'LLMEMO_CREDENTIAL_HEADERS',
      ),
    )
    .addOption(
      new Option('--credential-params <names>', 'more query parameters that carry credentials (comma list)').env(
        'LLMEMO_CREDENTIAL_PARAMS',
      ),
    )
    .addOption(
      new Option('--cache-content-filter', "store answers whose finish_reason is 'content_filter'").env(
        'LLMEMO_CACHE_CONTENT_FILTER',
      ),
    )
    .addOption(
      new Option('--provider <label>', 'provider label in keys (default: the upstream host)').env('LLMEMO_PROVIDER'),
    )
    .addOption(
      new Option('--ignore-params <fields>', 'more body fields to leave out of keys (comma list)').env(
        'LLMEMO_IGNORE_PARAMS',
      ),
    )
    .addOption(
      new Option('--max-body-size <size>', "413 above this request size on cached endpoints (default '32mb')")
        .env('LLMEMO_MAX_BODY_SIZE')
        .argParser(size),
    )
    .addOption(
      new Option(
        '--max-inflight-bytes <size>',
        'request-body bytes held at once; past it 503 + retry-after (default 4 × --max-body-size)',
      )
        .env('LLMEMO_MAX_INFLIGHT_BYTES')
        .argParser(size),
    )
    .addOption(
      new Option(
        '--body-timeout <duration>',
        "a request body must arrive within this long, else 408 (default '60s')",
      ).env('LLMEMO_BODY_TIMEOUT'),
    )
    .addOption(
      new Option('--replay <pacing>', "cached streams: 'instant' (default), 'recorded' or <ms> between events")
        .env('LLMEMO_REPLAY')
        .argParser(pacing),
    )
    .addOption(
      new Option('--normalize <mode>', 'prompt text normalization before hashing')
        .choices(['default', 'none'])
        .env('LLMEMO_NORMALIZE'),
    )
    .addOption(
      new Option('--store-timeout <ms>', 'give up on a store operation after this long (default 100)')
        .env('LLMEMO_STORE_TIMEOUT_MS')
        .argParser(integer),
    )
    .addOption(
      new Option('--upstream-timeout <duration>', "give up on a silent upstream after this long (default '10m')").env(
        'LLMEMO_UPSTREAM_TIMEOUT',
      ),
    )
    .addOption(new Option('--no-metrics', 'do not serve GET /metrics').env('LLMEMO_NO_METRICS'))
    .addOption(
      new Option(
        '--stale-if-error <duration>',
        'serve entries up to this long past expiry while the upstream fails',
      ).env('LLMEMO_STALE_IF_ERROR'),
    )
    .addOption(
      new Option('--log-level <level>', 'access log and events at this level and above')
        .choices(LOG_LEVELS)
        .env('LLMEMO_LOG_LEVEL')
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'log lines on stdout: json, or pretty (default when stdout is a terminal)')
        .choices(['json', 'pretty'])
        .env('LLMEMO_LOG_FORMAT'),
    )
    .addOption(new Option('-q, --quiet', 'no startup line, and log errors only').env('LLMEMO_QUIET'))
    .addHelpText(
      'after',
      '\nThe admin API (GET /admin/stats, POST /admin/purge) is enabled by setting LLMEMO_ADMIN_TOKEN in the\n' +
        'environment (never a flag: flags show in `ps`). Clients send `Authorization: Bearer <token>`.\n' +
        'LLMEMO_NAMESPACE_SECRET keys the per-credential namespaces (default: generated once, kept in the store);\n' +
        'LLMEMO_NAMESPACE_TOKEN lets callers that send it as x-llmemo-namespace-token name a shared namespace.\n\n' +
        'Example:\n  llmemo-proxy --upstream https://api.openai.com --store redis://localhost:6379\n' +
        '  OPENAI_BASE_URL=http://127.0.0.1:8787/v1 python my_script.py',
    );
}

function endpointsFrom(flags: Flags): ProxyEndpoints {
  const listed = flags.cache
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'none');
  for (const name of listed) {
    if (!(CACHEABLE_ENDPOINTS as readonly string[]).includes(name)) {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `--cache has no endpoint '${name}'; use a comma list of ${CACHEABLE_ENDPOINTS.join(', ')}, or 'none'.`,
      );
    }
  }
  const ttls: Record<CacheableEndpoint, string | undefined> = {
    chat: flags.chatTtl,
    messages: flags.messagesTtl,
    embeddings: flags.embeddingsTtl,
    images: flags.imagesTtl,
    models: flags.modelsTtl,
  };
  const endpoints: ProxyEndpoints = {};
  for (const name of CACHEABLE_ENDPOINTS) {
    if (!listed.includes(name)) {
      endpoints[name] = false;
      continue;
    }
    const ttl = ttls[name];
    const options: Record<string, unknown> = {};
    if (ttl !== undefined) options.ttl = ttl === 'never' ? null : ttl;
    if (name === 'images') {
      if (flags.imageUrlTtl !== undefined) options.urlTtl = flags.imageUrlTtl;
      if (flags.cacheMultipleImages) options.cacheMultiple = true;
    }
    endpoints[name] = options;
  }
  return endpoints;
}

/** Turns parsed flags (and the environment) into startProxy options; `log` receives events and the access log. */
export function optionsFrom(flags: Flags, env: NodeJS.ProcessEnv = process.env, log?: Pino): StartProxyOptions {
  const cache: CacheOptions = { store: flags.store };
  if (flags.ttl !== undefined) cache.ttl = flags.ttl === 'never' ? null : flags.ttl;
  if (flags.normalize !== undefined) cache.normalize = flags.normalize;
  if (flags.storeTimeout !== undefined) cache.timeoutMs = flags.storeTimeout;
  const options: StartProxyOptions = {
    upstream: flags.upstream,
    ...(flags.anthropicUpstream !== undefined && { anthropicUpstream: flags.anthropicUpstream }),
    port: flags.port,
    host: flags.host,
    cache,
    endpoints: endpointsFrom(flags),
    namespaceHeader: flags.namespaceHeader,
    metrics: flags.metrics,
  };
  if (log) {
    options.logger = coreLogger(log);
    options.accessLog = accessLogger(log);
  }
  if (flags.anonymousNamespace !== undefined) options.anonymousNamespace = flags.anonymousNamespace;
  const credentialHeaders = list(flags.credentialHeaders);
  if (credentialHeaders) options.credentialHeaders = credentialHeaders;
  const credentialParams = list(flags.credentialParams);
  if (credentialParams) options.credentialParams = credentialParams;
  if (flags.cacheContentFilter) options.cacheContentFilter = true;
  if (flags.maxInflightBytes !== undefined) options.maxInflightBytes = flags.maxInflightBytes;
  if (flags.bodyTimeout !== undefined) options.bodyTimeoutMs = parseDuration(flags.bodyTimeout, '--body-timeout');
  if (flags.provider !== undefined) options.provider = flags.provider;
  if (flags.ignoreParams !== undefined) {
    options.ignoreParams = flags.ignoreParams
      .split(',')
      .map((field) => field.trim())
      .filter(Boolean);
  }
  if (flags.maxBodySize !== undefined) options.maxBodyBytes = flags.maxBodySize;
  if (flags.replay !== undefined) options.replay = flags.replay;
  if (flags.upstreamTimeout !== undefined) {
    options.upstreamTimeoutMs = parseDuration(flags.upstreamTimeout, '--upstream-timeout');
  }
  if (flags.staleIfError !== undefined) options.staleIfError = flags.staleIfError;
  const token = env.LLMEMO_ADMIN_TOKEN;
  if (token !== undefined && token !== '') options.adminToken = token;
  const namespaceToken = env.LLMEMO_NAMESPACE_TOKEN;
  if (namespaceToken !== undefined && namespaceToken !== '') options.namespaceToken = namespaceToken;
  return options;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = buildProgram();
  program.parse(argv as string[]);
  const flags = program.opts<Flags>();
  const format = flags.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const log = createLogger(flags.quiet && flags.logLevel === 'info' ? 'error' : flags.logLevel, format);
  let running: Awaited<ReturnType<typeof startProxy>>;
  try {
    running = await startProxy(optionsFrom(flags, process.env, log));
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = isLlmemoError(error)
      ? error.message
      : code === 'EADDRINUSE'
        ? `port ${flags.port} on ${flags.host} is in use; pick another with --port.`
        : (error as Error).message;
    process.stderr.write(`llmemo-proxy: ${message}\n`);
    process.exit(2);
  }
  if (!flags.quiet) {
    const admin = process.env.LLMEMO_ADMIN_TOKEN ? 'on' : 'off (set LLMEMO_ADMIN_TOKEN)';
    process.stderr.write(
      `llmemo-proxy: listening on ${running.url} → ${redact(flags.upstream)} (store ${redact(flags.store)}, admin API ${admin})\n` +
        `  OPENAI_BASE_URL=${running.url}\n`,
    );
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await running.close().catch(() => {});
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
