import { type CacheOptions, isLlmemoError, LlmemoError, parseDuration } from '@llmemo/core';
import { Command } from 'commander';
import type { Logger as Pino } from 'pino';
import { HELP_AFTER, programOptions } from './cli-options.js';
import { applyConfigFile } from './config-file.js';
import {
  CACHEABLE_ENDPOINTS,
  type CacheableEndpoint,
  type ProxyEndpoints,
  type ReplayPacing,
  type StartProxyOptions,
  startProxy,
} from './index.js';
import { accessLogger, coreLogger, createLogger, type LogFormat, type LogLevel } from './logging.js';
import { redact } from './redact.js';
import { reloadOnSighup } from './sighup.js';

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
  config?: string;
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export function buildProgram(): Command {
  const program = new Command()
    .name('llmemo-proxy')
    .description(
      'An OpenAI-compatible caching proxy: point OPENAI_BASE_URL at it and repeated requests are answered from the cache.',
    );
  for (const option of programOptions()) program.addOption(option);
  return program.addHelpText('after', HELP_AFTER);
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

/** The flags of `argv`, with `--config`'s file applied under them. Throws INVALID_OPTIONS for a bad file. */
export function readFlags(argv: readonly string[], program = buildProgram()): Flags {
  program.parse(argv as string[]);
  const file = program.opts<Flags>().config;
  if (file !== undefined) applyConfigFile(program, file);
  return program.opts<Flags>();
}

/** Settings that only take effect when the process starts. */
const START_ONLY: (keyof Flags)[] = ['port', 'host', 'logLevel', 'logFormat', 'quiet'];

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  let flags: Flags;
  try {
    flags = readFlags(argv);
  } catch (error) {
    process.stderr.write(`llmemo-proxy: ${(error as Error).message}\n`);
    process.exit(2);
  }
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
  reloadOnSighup(running, log, () => {
    const next = readFlags(argv, buildProgram().exitOverride());
    const restart = START_ONLY.filter((name) => next[name] !== flags[name]);
    // Where it listens is fixed for the life of the process.
    const { port: _port, host: _host, ...options } = optionsFrom(next, process.env, log);
    return { options, restart };
  });
}
