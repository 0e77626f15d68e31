import { isLlmemoError } from '@llmemo/core';

/** A failure the CLI reports as one line on stderr, with an exit code: 2 for usage errors, 1 for everything else. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** `redis://user:secret@host` → `redis://user:***@host`: a URL in an error message must not leak a password. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/** The one line to print for any error (without the `llmemo: ` prefix), and the exit code. */
export function describeFailure(error: unknown): { message: string; exitCode: 1 | 2 } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (isLlmemoError(error)) {
    return { message: oneLine(error.message), exitCode: error.code === 'INVALID_OPTIONS' ? 2 : 1 };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: oneLine(message), exitCode: 1 };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
