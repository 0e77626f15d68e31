import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/** Children still running, so a signal to the matrix reaches them before it puts the native addons back. */
export const running = new Set();

/**
 * Runs a command and resolves with its exit code (never rejects on a non-zero exit). `capture` collects stdout
 * and stderr; `logFile` sends both to a file; otherwise they go to this terminal.
 */
export function run(command, args, { capture = false, logFile, cwd, env } = {}) {
  let stdio = 'inherit';
  let fd;
  if (capture) stdio = ['ignore', 'pipe', 'pipe'];
  else if (logFile) {
    fd = openSync(logFile, 'w');
    stdio = ['ignore', fd, fd];
  }
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio });
    if (fd !== undefined) closeSync(fd);
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', (error) => {
      running.delete(child);
      resolvePromise({ code: 127, stdout, stderr: `${stderr}${error.message}\n` });
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      resolvePromise({ code: code ?? (signal ? 128 : 1), signal, stdout, stderr });
    });
  });
}

/** `PATH` with a directory in front, so `node` in child processes and `#!/usr/bin/env node` scripts is that one. */
export function envWithNode(binDir, extra = {}) {
  return { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}`, ...extra };
}
