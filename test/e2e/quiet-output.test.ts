// `pnpm test` prints what a person needs: the quiet build before it, and no AI SDK warnings from the suites that
// call deprecated APIs on purpose.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createOpenAI } from '@ai-sdk/openai';
import { tempDir, useOpenAITestServer } from '@llmemo/test-support';
import { generateObject } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const root = fileURLToPath(new URL('../../', import.meta.url));

function quietBuild(packages: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/quiet-build.mjs', ...packages], {
      cwd: root,
      env: { ...process.env, ...env },
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
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the build before test, demo, llmemo and proxy', () => {
  it('prints nothing when it succeeds, not even turbo’s first-run telemetry notice', async () => {
    // A home turbo has never seen, as on a fresh CI machine: that is when turbo prints its telemetry notice.
    const home = tempDir('llmemo-home-');
    const ran = await quietBuild(['@llmemo/core'], { HOME: home, XDG_CONFIG_HOME: `${home}/.config` });
    expect(ran).toEqual({ code: 0, stdout: '', stderr: '' });
  }, 120_000);

  it('prints turbo’s output on stderr, and fails, when the build fails', async () => {
    const ran = await quietBuild(['@llmemo/no-such-package'], {});
    expect(ran.code).not.toBe(0);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain('no-such-package');
    expect(ran.stderr).toContain('The build failed');
  }, 120_000);

  it('is what the root scripts run first', () => {
    const { scripts } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
    for (const name of ['test', 'demo', 'bench', 'llmemo', 'proxy', 'proxy:demo']) {
      expect(scripts[name], name).toMatch(/^node scripts\/quiet-build\.mjs\b.* && /);
    }
    for (const name of ['build', 'typecheck'])
      expect(scripts[name], name).toMatch(/^TURBO_TELEMETRY_DISABLED=1 turbo /);
  });
});

describe('AI SDK warnings in the test run', () => {
  const server = useOpenAITestServer();

  it('a deprecated call (generateObject) logs nothing: the test setup turns the SDK’s warning log off', async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error) => warnings.push(warning);
    process.on('warning', listener);
    try {
      const model = createOpenAI({ baseURL: server.url, apiKey: 'test' }).chat('gpt-4o-mini');
      const { object } = await generateObject({ model, schema: z.object({ name: z.string() }), prompt: 'who?' });
      expect(typeof object.name).toBe('string');
      // process.emitWarning delivers on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    expect(warnings.map((warning) => warning.message)).toEqual([]);
  });
});
