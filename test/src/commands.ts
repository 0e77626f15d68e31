import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The path of a command a test runs (curl for the README's commands), installing its Debian package when it is
 * missing and we are root, as CI is. Throws with the way to fix it otherwise: a missing tool is a loud failure.
 */
export function ensureCommand(
  command: string,
  debianPackage = command,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): string {
  const found = which(command);
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const fix = `Install it with 'apt-get install -y ${debianPackage}' (Debian/Ubuntu) or your system's package manager.`;
  if (!isRoot || !existsSync('/usr/bin/apt-get'))
    throw new Error(`The tests need ${command} and it is missing. ${fix}`);
  log(`llmemo tests: ${command} is missing; installing Debian package ${debianPackage} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', debianPackage], { env, stdio: 'ignore' });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
    install();
  }
  const installed = which(command);
  if (!installed) throw new Error(`Installing ${debianPackage} did not provide ${command}. ${fix}`);
  return installed;
}
