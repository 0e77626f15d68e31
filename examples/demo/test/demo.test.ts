import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir, useOpenAITestServer } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';

// The demo as `pnpm demo` runs it (tsx on the sources, the packages' built dist), in a scratch directory.
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

// Whatever the machine running the tests has set: each test says which OpenAI settings the demo sees.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OPENAI_')));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function demo(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [main, ...args], {
      cwd: tempDir('llmemo-demo-'),
      env: { ...baseEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
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
  });
}

describe('pnpm demo', () => {
  // Stands for the paid API: the demo must reach it only when told to with --real.
  const paid = useOpenAITestServer();

  it('stays on the local model even with OPENAI_API_KEY set, and shows speed-up, money saved and why', async () => {
    const run = await demo([], { OPENAI_API_KEY: 'sk-would-be-billed', OPENAI_BASE_URL: paid.url });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(paid.count()).toBe(0);
    expect(run.stdout).toContain('OPENAI_API_KEY is set, but the demo stays local; `pnpm demo --real`');
    expect(run.stdout).toMatch(/a local server playing gpt-4o-mini.*nothing is billed/);
    // The core section: a miss, then hits with their speed-up, and the new process's two hits explained.
    expect(run.stdout).toMatch(/1\. first call\s+miss\s+\d+ ms\s+\d{4}-/);
    expect(run.stdout).toMatch(/2\. same call, same process\s+hit\s+[\d.]+ ms\s+[\d,.]+×/);
    expect(run.stdout).toMatch(/3\. new process, first hit\s+hit\s+[\d.]+ ms\s+[\d,.]+×/);
    expect(run.stdout).toMatch(/4\. new process, next hit\s+hit\s+[\d.]+ ms\s+[\d,.]+×/);
    expect(run.stdout).toContain('Row 3 costs more than row 2 because it is the first call of its process');
    // The AI SDK section: speed-up for each hit, and the money the hits saved at gpt-4o-mini prices.
    expect(run.stdout).toMatch(/generateText \(2nd\)\s+hit\s+[\d.]+ ms\s+[\d,.]+×\s+\d+/);
    expect(run.stdout).toMatch(/streamText \(2nd\)\s+hit\s+[\d.]+ ms\s+[\d,.]+×\s+[\d.]+ ms\s+\d+/);
    expect(run.stdout).toMatch(/2 hits, 2 misses: \d+ tokens not bought again, worth \$0\.0000\d+ at gpt-4o-mini's/);
    expect(run.stdout).toMatch(/\$[\d.]+ per million repeated calls/);
    expect(run.stdout).toContain('The model was called 2 times for 4 calls.');
  }, 120_000);

  it('--real uses the OpenAI API (here a stand-in at OPENAI_BASE_URL) and says the misses are billed', async () => {
    const run = await demo(['--real'], { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: paid.url });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('the real OpenAI API, gpt-4o-mini: the two misses are billed');
    expect(paid.count()).toBe(2);
    expect(paid.requests.every((request) => request.headers.authorization === 'Bearer sk-test')).toBe(true);
  }, 120_000);

  it('--real without OPENAI_API_KEY, or an unknown flag, stops before calling anything', async () => {
    const noKey = await demo(['--real'], {});
    expect(noKey.code, noKey.stderr).toBe(2);
    expect(noKey.stderr).toContain('--real calls the OpenAI API and needs OPENAI_API_KEY');
    const typo = await demo(['--reel'], {});
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown argument --reel');
    expect(paid.count()).toBe(0);
  }, 60_000);
});
