import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The environment of a reader's shell: none of the test run's own variables (vitest's, NODE_ENV) and no llmemo or
 * OpenAI settings, so a command works because the README says enough, not because the test run set something.
 */
export const readerEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !/^(LLMEMO_|OPENAI_|VITEST|npm_)/.test(name) && name !== 'NODE_ENV' && name !== 'TEST',
  ),
) as Record<string, string>;

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): { output: () => { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  return { output: () => ({ stdout, stderr }) };
}

/** Sends a signal to the whole process group (bash, pnpm, the scripts, the servers they start). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Runs a block as a script, as a reader's shell would run the pasted lines, but stopping at the first failure. */
export function runScript(script: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      env: readerEnv,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { output } = collect(child);
    const timer = setTimeout(() => {
      signalGroup(child, 'SIGKILL');
      const { stdout, stderr } = output();
      reject(new Error(`timed out after ${timeoutMs} ms:\n${script}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ...output() });
    });
  });
}

export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A command that keeps running (a server), started in its own process group so it can be stopped whole. */
export class Background {
  private readonly child: ChildProcess;
  private readonly output: () => { stdout: string; stderr: string };
  private exited = false;

  private constructor(
    readonly command: string,
    readonly port: number,
  ) {
    this.child = spawn('bash', ['-c', command], {
      cwd: ROOT,
      env: readerEnv,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.output = collect(this.child).output;
    this.child.once('exit', () => {
      this.exited = true;
    });
  }

  /** Starts `command` and resolves once 127.0.0.1:port accepts connections. */
  static async start(command: string, port: number, timeoutMs: number): Promise<Background> {
    if (await portAnswers(port)) {
      throw new Error(`port ${port} is already in use, so \`${command}\` cannot start: stop what listens there.`);
    }
    const server = new Background(command, port);
    const deadline = Date.now() + timeoutMs;
    while (!(await portAnswers(port))) {
      if (server.exited || Date.now() > deadline) {
        await server.stop();
        const { stdout, stderr } = server.output();
        const why = server.exited ? `exited (code ${server.child.exitCode})` : `did not listen in ${timeoutMs} ms`;
        throw new Error(
          `\`${command}\` ${why} before port ${port} answered.\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
        );
      }
      await sleep(100);
    }
    return server;
  }

  /** SIGTERM to the group (SIGKILL after 10 s), then waits until the port is free again. */
  async stop(): Promise<void> {
    // The whole group even when its leader has exited: the servers it started may still run.
    const exited = this.exited ? Promise.resolve() : new Promise((resolve) => this.child.once('exit', resolve));
    signalGroup(this.child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.child, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    for (let tries = 0; await portAnswers(this.port); tries++) {
      if (tries === 100) throw new Error(`port ${this.port} still answers after \`${this.command}\` stopped.`);
      await sleep(100);
    }
  }
}
