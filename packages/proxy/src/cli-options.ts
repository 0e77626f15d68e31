import { InvalidArgumentError, Option } from 'commander';
import { CACHEABLE_ENDPOINTS, type ReplayPacing } from './index.js';
import { LOG_LEVELS } from './logging.js';

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

/** Where to forward, where to store, where to listen. */
function serverOptions(): Option[] {
  return [
    new Option('--upstream <url>', "OpenAI-compatible server to forward to, e.g. 'https://api.openai.com'")
      .env('LLMEMO_UPSTREAM')
      .makeOptionMandatory(),
    new Option(
      '--anthropic-upstream <url>',
      "Anthropic Messages API for /v1/messages, e.g. 'https://api.anthropic.com' (default: --upstream)",
    ).env('LLMEMO_ANTHROPIC_UPSTREAM'),
    new Option('--store <url>', "cache store: 'memory://', 'sqlite://<path>', 'redis://host:6379'")
      .env('LLMEMO_STORE')
      .default('memory://'),
    new Option('-p, --port <n>', 'port to listen on').env('LLMEMO_PORT').default(8787).argParser(integer),
    new Option('--host <host>', "interface to listen on ('0.0.0.0' for all, e.g. in a container)")
      .env('LLMEMO_HOST')
      .default('127.0.0.1'),
  ];
}

/** Which endpoints cache, and for how long. */
function endpointOptions(): Option[] {
  return [
    new Option('--ttl <duration>', "how long entries stay fresh ('7d' default; '1h', '90s')").env('LLMEMO_TTL'),
    new Option('--cache <endpoints>', `endpoints that cache (comma list of ${CACHEABLE_ENDPOINTS.join(', ')}; 'none')`)
      .env('LLMEMO_CACHE')
      .default(CACHEABLE_ENDPOINTS.join(',')),
    new Option('--chat-ttl <duration>', 'ttl for chat completions').env('LLMEMO_CHAT_TTL'),
    new Option('--messages-ttl <duration>', 'ttl for Anthropic messages').env('LLMEMO_MESSAGES_TTL'),
    new Option('--embeddings-ttl <duration>', 'ttl for embeddings').env('LLMEMO_EMBEDDINGS_TTL'),
    new Option('--images-ttl <duration>', 'ttl for image generations').env('LLMEMO_IMAGES_TTL'),
    new Option('--models-ttl <duration>', "ttl for the model list (default '5m')").env('LLMEMO_MODELS_TTL'),
    new Option('--image-url-ttl <duration>', "cap for answers holding image URLs (default '50m')").env(
      'LLMEMO_IMAGE_URL_TTL',
    ),
    new Option('--cache-multiple-images', 'also cache image requests with n > 1').env('LLMEMO_CACHE_MULTIPLE_IMAGES'),
  ];
}

/** Whose entries are whose: namespaces and the credentials that pick them. */
function tenancyOptions(): Option[] {
  return [
    new Option('--no-namespace-header', 'ignore x-llmemo-namespace (a sub-namespace of the caller’s own)').env(
      'LLMEMO_NO_NAMESPACE_HEADER',
    ),
    new Option(
      '--anonymous-namespace <name>',
      'cache requests without a credential in this shared namespace (default: they go upstream uncached)',
    ).env('LLMEMO_ANONYMOUS_NAMESPACE'),
    new Option('--credential-headers <names>', 'more request headers that carry credentials (comma list)').env(
      'LLMEMO_CREDENTIAL_HEADERS',
    ),
    new Option('--credential-params <names>', 'more query parameters that carry credentials (comma list)').env(
      'LLMEMO_CREDENTIAL_PARAMS',
    ),
  ];
}

/** What is stored and how keys are made. */
function keyOptions(): Option[] {
  return [
    new Option('--cache-content-filter', "store answers whose finish_reason is 'content_filter'").env(
      'LLMEMO_CACHE_CONTENT_FILTER',
    ),
    new Option('--provider <label>', 'provider label in keys (default: the upstream host)').env('LLMEMO_PROVIDER'),
    new Option('--ignore-params <fields>', 'more body fields to leave out of keys (comma list)').env(
      'LLMEMO_IGNORE_PARAMS',
    ),
  ];
}

/** Request-body limits and stream replay. */
function requestOptions(): Option[] {
  return [
    new Option('--max-body-size <size>', "413 above this request size on cached endpoints (default '32mb')")
      .env('LLMEMO_MAX_BODY_SIZE')
      .argParser(size),
    new Option(
      '--max-inflight-bytes <size>',
      'request-body bytes held at once; past it 503 + retry-after (default 4 × --max-body-size)',
    )
      .env('LLMEMO_MAX_INFLIGHT_BYTES')
      .argParser(size),
    new Option(
      '--body-timeout <duration>',
      "a request body must arrive within this long, else 408 (default '60s')",
    ).env('LLMEMO_BODY_TIMEOUT'),
    new Option('--replay <pacing>', "cached streams: 'instant' (default), 'recorded' or <ms> between events")
      .env('LLMEMO_REPLAY')
      .argParser(pacing),
    new Option('--normalize <mode>', 'prompt text normalization before hashing')
      .choices(['default', 'none'])
      .env('LLMEMO_NORMALIZE'),
  ];
}

/** Timeouts, failure handling and metrics. */
function resilienceOptions(): Option[] {
  return [
    new Option('--store-timeout <ms>', 'give up on a store operation after this long (default 100)')
      .env('LLMEMO_STORE_TIMEOUT_MS')
      .argParser(integer),
    new Option('--upstream-timeout <duration>', "give up on a silent upstream after this long (default '10m')").env(
      'LLMEMO_UPSTREAM_TIMEOUT',
    ),
    new Option('--no-metrics', 'do not serve GET /metrics').env('LLMEMO_NO_METRICS'),
    new Option('--stale-if-error <duration>', 'serve entries up to this long past expiry while the upstream fails').env(
      'LLMEMO_STALE_IF_ERROR',
    ),
  ];
}

/** Logging and the config file. */
function processOptions(): Option[] {
  return [
    new Option('--log-level <level>', 'access log and events at this level and above')
      .choices(LOG_LEVELS)
      .env('LLMEMO_LOG_LEVEL')
      .default('info'),
    new Option('--log-format <format>', 'log lines on stdout: json, or pretty (default when stdout is a terminal)')
      .choices(['json', 'pretty'])
      .env('LLMEMO_LOG_FORMAT'),
    new Option('-q, --quiet', 'no startup line, and log errors only').env('LLMEMO_QUIET'),
    new Option(
      '--config <file>',
      'JSON file of settings named like the flags ({"store": …, "chatTtl": …}); flags and env vars win; re-read on SIGHUP',
    ).env('LLMEMO_CONFIG'),
  ];
}

/** Every flag of `llmemo-proxy`, in the order `--help` lists them. */
export function programOptions(): Option[] {
  return [
    ...serverOptions(),
    ...endpointOptions(),
    ...tenancyOptions(),
    ...keyOptions(),
    ...requestOptions(),
    ...resilienceOptions(),
    ...processOptions(),
  ];
}

export const HELP_AFTER =
  '\nSIGHUP re-reads --config and applies it without dropping a connection (store, ttls, endpoints, upstream, …).\n' +
  '\nThe admin API (GET /admin/stats, POST /admin/purge) is enabled by setting LLMEMO_ADMIN_TOKEN in the\n' +
  'environment (never a flag: flags show in `ps`). Clients send `Authorization: Bearer <token>`.\n' +
  'LLMEMO_NAMESPACE_SECRET keys the per-credential namespaces (default: generated once, kept in the store);\n' +
  'LLMEMO_NAMESPACE_TOKEN lets callers that send it as x-llmemo-namespace-token name a shared namespace.\n\n' +
  'Example:\n  llmemo-proxy --upstream https://api.openai.com --store redis://localhost:6379\n' +
  '  OPENAI_BASE_URL=http://127.0.0.1:8787/v1 python my_script.py';
