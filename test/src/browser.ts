import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type LaunchOptions } from 'playwright-core';

/**
 * A real browser for the dashboard tests: Debian's chromium, driven by playwright-core (which downloads no browser
 * of its own). The global setup installs the package when it is missing and we are root (as CI is), like
 * redis-server; anywhere else a missing browser fails the run with the fix.
 */

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

export const CHROMIUM_ENV = 'LLMEMO_CHROMIUM_PATH';

const HOW_TO_FIX = `Install it with 'apt-get install -y chromium' (Debian/Ubuntu), or point the tests at a Chrome or Chromium binary with ${CHROMIUM_ENV}=/path/to/chrome.`;

function findChromium(): string | undefined {
  const configured = process.env[CHROMIUM_ENV];
  if (configured) {
    if (!existsSync(configured)) throw new Error(`${CHROMIUM_ENV}=${configured} does not exist. ${HOW_TO_FIX}`);
    return configured;
  }
  return CANDIDATES.find((candidate) => existsSync(candidate));
}

/** The path of a Chromium binary, installing Debian's package when missing and running as root. */
export function ensureChromium(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): string {
  const found = findChromium();
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`The dashboard tests need a real Chromium and none is installed. ${HOW_TO_FIX}`);
  }
  log('llmemo tests: chromium is missing; installing Debian package chromium (apt-get, a minute or two)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env, stdio: 'ignore' });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
    install();
  }
  const installed = findChromium();
  if (!installed) throw new Error(`Installing chromium did not produce a binary. ${HOW_TO_FIX}`);
  log(`llmemo tests: installed ${installed}.`);
  return installed;
}

export interface TestBrowser {
  /** One context on a fresh profile directory (`--user-data-dir`); open pages with `context.newPage()`. */
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium on a fresh profile, with nothing running in the background (no component updates,
 * sync or first-run work that could reach the network or slow the test).
 */
export async function launchBrowser(
  executablePath: string,
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'llmemo-chromium-'));
  const launch: LaunchOptions = {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  };
  // launchPersistentContext is how playwright takes --user-data-dir: the profile directory is ours, and fresh.
  const context = await chromium.launchPersistentContext(profile, {
    ...launch,
    locale: 'en-US',
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
