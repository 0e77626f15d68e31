import type { Logger } from '@llmemo/core';
import pino, { type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import type { AccessLogEntry } from './access-log.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

/**
 * The command's logger (pino): one JSON object per line on stdout, or a readable line per event with `pretty`.
 * Synchronous writes: an access log line is a few microseconds, and nothing is lost when the process exits.
 */
export function createLogger(level: LogLevel, format: LogFormat): Pino {
  const options = { level, base: { name: 'llmemo-proxy' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'json') return pino(options, pino.destination({ dest: 1, sync: true }));
  return pino(
    options,
    pretty({
      sync: true,
      colorize: process.stdout.isTTY === true,
      ignore: 'pid,hostname,name',
      translateTime: 'SYS:HH:MM:ss.l',
      messageFormat: (log, messageKey) =>
        log.status === undefined
          ? String(log[messageKey])
          : `${log.method} ${log.path} ${log.status} ${log.cache} ${log.durationMs} ms`,
    }),
  );
}

/** Core's logger interface on top of pino (store errors, breaker changes, skipped writes at debug). */
export function coreLogger(log: Pino): Logger {
  return {
    debug: (message, meta) => log.debug(meta ?? {}, message),
    info: (message, meta) => log.info(meta ?? {}, message),
    warn: (message, meta) => log.warn(meta ?? {}, message),
    error: (message, meta) => log.error(meta ?? {}, message),
  };
}

/** The access log as pino lines at `info`: `{"method","path","status","cache","durationMs",…,"msg":"request"}`. */
export function accessLogger(log: Pino): (entry: AccessLogEntry) => void {
  return (entry) => log.info(entry, 'request');
}
