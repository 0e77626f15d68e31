import { LlmemoError } from '@llmemo/core';

// Checks of one option value each: they throw INVALID_OPTIONS naming the option, or return the value or its default.

export function invalid(message: string): LlmemoError {
  return new LlmemoError('INVALID_OPTIONS', message);
}

export function boolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(`${option} must be true or false; got ${JSON.stringify(value)}.`);
  return value;
}

export function positiveInteger(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw invalid(`${option} must be a positive integer; got ${JSON.stringify(value)}.`);
  }
  return value;
}

export function label(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.length > 256 || !wellFormed(value)) {
    throw invalid(
      `${option} must be a non-empty, well-formed string of at most 256 characters; got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

/** Node 20 has String.prototype.isWellFormed; the TypeScript lib in use does not list it yet. */
export function wellFormed(value: string): boolean {
  return (value as string & { isWellFormed(): boolean }).isWellFormed();
}

export function names(value: unknown, option: string, lower: boolean): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item.trim() === '')) {
    throw invalid(`${option} must be an array of names.`);
  }
  return value.map((item: string) => (lower ? item.trim().toLowerCase() : item.trim()));
}

export function secret(value: unknown, option: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length < 16) {
    throw invalid(`${option} must be a string of at least 16 characters (e.g. \`openssl rand -hex 32\`).`);
  }
  return value;
}
