import type { Logger as Pino } from 'pino';
import type { ProxyOptions } from './options.js';
import type { RunningProxy } from './serve.js';

/**
 * SIGHUP reloads the configuration: `read` builds the options again (flags, environment, config file) and the
 * proxy applies them without dropping a connection. What changed is logged; an invalid configuration is logged and
 * the running one kept. Reloads run one after another.
 */
export function reloadOnSighup(
  running: RunningProxy,
  log: Pino,
  read: () => { options: ProxyOptions; restart: string[] },
): void {
  let reloads = Promise.resolve();
  process.on('SIGHUP', () => {
    reloads = reloads.then(() => reload(running, log, read));
  });
}

async function reload(
  running: RunningProxy,
  log: Pino,
  read: () => { options: ProxyOptions; restart: string[] },
): Promise<void> {
  try {
    const { options, restart } = read();
    const { changed, needsRestart } = await running.proxy.reconfigure(options);
    log.info(
      { changed },
      changed.length === 0
        ? 'llmemo-proxy: SIGHUP: configuration reloaded, nothing changed'
        : `llmemo-proxy: SIGHUP: configuration reloaded: ${changed.join('; ')}`,
    );
    const kept = [...restart, ...needsRestart];
    if (kept.length > 0) log.warn({ needsRestart: kept }, `llmemo-proxy: kept until a restart: ${kept.join(', ')}`);
  } catch (error) {
    const message = (error as Error).message;
    log.error(
      { error: message },
      `llmemo-proxy: SIGHUP: the new configuration is invalid, kept the running one: ${message}`,
    );
  }
}
