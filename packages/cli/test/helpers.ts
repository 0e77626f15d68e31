import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CacheRequest } from '@llmemo/core';
import { beforeAll, expect } from 'vitest';

// The tests run the built binary as a user would: `pnpm --filter @llmemo/cli build` (and core's build) first.
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const coreDist = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LLMEMO_')));

/** Runs the built `llmemo` in a child process. */
export function llmemo(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...baseEnv, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Errors are exactly one line, prefixed `llmemo:`. */
export function oneLine(result: Run): string {
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^llmemo: /);
  return lines[0]!;
}

export const req = (text: string, extra: Partial<CacheRequest> = {}): CacheRequest => ({
  kind: 'chat',
  provider: 'openai.chat',
  model: 'gpt-4o-mini',
  input: text,
  ...extra,
});

export const usage = () => ({ usage: { inputTokens: 100, outputTokens: 50 } });

/** Fails the file at once, saying what to build, when the binary is missing. */
export function requireBuiltCli(): void {
  beforeAll(() => {
    for (const file of [bin, coreDist]) {
      if (!existsSync(file)) {
        throw new Error(
          `${file} is missing: run \`pnpm --filter @llmemo/core build && pnpm --filter @llmemo/cli build\`.`,
        );
      }
    }
  });
}
