#!/usr/bin/env node
// Builds what a root script needs (`pnpm test`, `pnpm demo`, `pnpm llmemo`, `pnpm proxy`) and prints nothing
// unless the build fails: then the whole turbo output goes to stderr, and the exit code is turbo's.
//
//   node scripts/quiet-build.mjs [package ...]   each package and what it depends on; none = every package
//
// stdout stays clean, so `pnpm llmemo … export | pnpm llmemo … import` pipes only the CLI's output. Runs are
// serialized by a lock, so the two sides of such a pipe never build the same files at once. On a terminal, a
// build that takes a while says so on stderr once.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockFile = join(root, 'node_modules', '.cache', 'llmemo-build.lock');
const packages = process.argv.slice(2);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** An exclusive lock file holding the owner's pid; a lock whose owner died is taken over. */
async function lock() {
  mkdirSync(dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let owner;
    try {
      owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      // Empty: its owner is between creating and writing it, unless it died there long ago.
      if (Number.isNaN(owner) && Date.now() - statSync(lockFile).mtimeMs > 10_000) owner = 0;
    } catch {
      continue; // released meanwhile
    }
    if (owner === 0 || (Number.isInteger(owner) && !alive(owner))) rmSync(lockFile, { force: true });
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const release = await lock();
const args = ['run', 'build', '--output-logs=errors-only', ...packages.flatMap((name) => ['--filter', `${name}...`])];
const child = spawn(join(root, 'node_modules', '.bin', 'turbo'), args, {
  cwd: root,
  env: {
    ...process.env,
    TURBO_TELEMETRY_DISABLED: '1',
    TURBO_NO_UPDATE_NOTIFIER: '1',
    // The output is captured, so the tools see no terminal: colours only when the errors will reach one.
    ...(process.stderr.isTTY ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' }),
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const output = [];
child.stdout.on('data', (chunk) => output.push(chunk));
child.stderr.on('data', (chunk) => output.push(chunk));
const slow = process.stderr.isTTY
  ? setTimeout(() => process.stderr.write('Building the packages (a minute the first time)…\n'), 2000)
  : undefined;
const code = await new Promise((resolve) => {
  child.on('error', (error) => {
    output.push(Buffer.from(`${error.message}: run \`pnpm install\` first.\n`));
    resolve(1);
  });
  child.on('close', (status) => resolve(status ?? 1));
});
clearTimeout(slow);
release();
if (code !== 0) {
  process.stderr.write(Buffer.concat(output));
  process.stderr.write(`\nThe build failed (turbo ${args.join(' ')}); the errors are above.\n`);
}
process.exit(code);
