// The README's commands work when a reader pastes them: every `sh runnable` block runs, in README order, from the
// root of this clone after `pnpm install` (the state `pnpm test` and CI run in), with the servers it needs started
// in the background and stopped after it. The marker and its attributes are described in README.md itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCommand } from '@llmemo/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Background, type Ran, ROOT, runScript } from './processes.js';
import { type RunnableBlock, runnableBlocks, shownCommands } from './runnable-blocks.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** What the Quickstart puts in front of each line for a fresh machine; this clone has done it. */
const SETUP = 'npm i -g pnpm@12.4.2 && pnpm install && ';
const BLOCK_TIMEOUT_MS = 180_000;
const SERVER_START_MS = 120_000;

/** What each named block must print, beyond exiting 0. */
const CHECKS: Record<string, (ran: Ran) => void> = {
  // The proxy in front of the local model: the first request goes to the model, the second is the cache's.
  'proxy-curl': (ran) => expect(ran.stdout).toMatch(/^MISS in [\d.]+s\nHIT in [\d.]+s\n$/),
  // It started, listened and was stopped: nothing else can be asked of it without an OpenAI key.
  'proxy-openai': () => {},
  // The CLI on the files `pnpm demo` wrote: its 2 entries, the counters it recorded, the prices it used.
  cli: (ran) => {
    expect(ran.stdout).toMatch(/^Entries\s+2 /m);
    expect(ran.stdout).toMatch(/Hit rate\s+50\.0% \(2 hits, 2 misses, as recorded by the apps\)/);
    expect(ran.stdout).toMatch(/Saved\s+\d+ input \+ \d+ output tokens, worth 0\.\d+/);
    // The age column is right-aligned: a wider value ("944ms") indents its header.
    expect(ran.stdout).toMatch(/^\s*age\s+expires\s+size\s+namespace\s+kind\s+model\s+sealed\s+hits\s+key$/m);
    expect(ran.stdout.match(/ demo\s+chat\s+gpt-4o-mini\s+-\s+(\d+|-)\s+llmemo:v2:demo:chat:\S+…$/gm)).toHaveLength(2);
    expect(ran.stderr).toContain('Would delete 2 entries (namespace=demo). Nothing was deleted.');
    expect(ran.stderr).toContain('Exported 2 entries.');
    expect(ran.stderr).toContain('Imported 2 entries.');
    expect(ran.stderr).not.toMatch(/^llmemo: /m);
  },
  // The dashboard's API over the same file: the demo's 2 hits and 2 misses of the last 24 hours, priced.
  dashboard: (ran) => {
    expect(ran.stdout).toMatch(
      /^"totals":\{"hits":2,"staleHits":0,"misses":2,"bypasses":0,.*"moneySaved":0\.\d+,"requests":4\}$/m,
    );
  },
};

const blocks = runnableBlocks(README);
const shown = shownCommands(README, SETUP);

beforeAll(() => {
  ensureCommand('curl');
});

describe('README.md', () => {
  it('marks the commands a reader runs first as runnable, and every helper command is one the README shows', () => {
    expect(blocks.map((block) => block.id)).toEqual(expect.arrayContaining(Object.keys(CHECKS)));
    for (const block of blocks) {
      expect(block.id, `README.md:${block.line}: a runnable block needs id=NAME`).toBeDefined();
      expect(Object.keys(CHECKS), `README.md:${block.line}: no checks for id=${block.id}`).toContain(block.id);
      for (const command of [block.server, block.after]) {
        if (command !== undefined) expect([...shown], `README.md:${block.line}`).toContain(command);
      }
    }
  });

  describe('runnable blocks, in order', () => {
    const done = new Set<string>();
    const running: Background[] = [];
    afterAll(async () => {
      await Promise.all(running.splice(0).map((server) => server.stop()));
    });

    /** Runs a prerequisite command once, as the reader did before reaching the block. */
    async function once(command: string): Promise<void> {
      if (done.has(command)) return;
      const ran = await runScript(command, BLOCK_TIMEOUT_MS);
      expect(ran.code, `${command}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}`).toBe(0);
      done.add(command);
    }

    async function run(block: RunnableBlock): Promise<void> {
      if (block.after !== undefined) await once(block.after);
      if (block.background) {
        // Coming up on its port is the proof; then it is stopped like a reader's Ctrl-C.
        const server = await Background.start(block.code, block.port!, SERVER_START_MS);
        await server.stop();
        CHECKS[block.id!]!({ code: 0, stdout: '', stderr: '' });
        return;
      }
      const server =
        block.server === undefined ? undefined : await Background.start(block.server, block.port!, SERVER_START_MS);
      if (server) running.push(server);
      try {
        const ran = await runScript(block.code, BLOCK_TIMEOUT_MS);
        expect(
          ran.code,
          `README.md:${block.line}\n${block.code}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}`,
        ).toBe(0);
        CHECKS[block.id!]!(ran);
      } finally {
        if (server) {
          running.splice(running.indexOf(server), 1);
          await server.stop();
        }
      }
    }

    for (const block of blocks) {
      it(
        `README.md:${block.line} ${block.id ?? ''}: ${block.code.split('\n')[0]}`,
        () => run(block),
        BLOCK_TIMEOUT_MS * 2,
      );
    }
  });
});
