import { readFileSync } from 'node:fs';
import { LlmemoError } from '@llmemo/core';
import type { Command, Option } from 'commander';

function invalid(message: string): LlmemoError {
  return new LlmemoError('INVALID_OPTIONS', message);
}

/** The command's option named `name` in a config file: its attribute name (`chatTtl`) or its long flag (`chat-ttl`). */
function optionNamed(program: Command, name: string): Option | undefined {
  return program.options.find(
    (option) => option.attributeName() === name || option.long === `--${name}` || option.long === `--no-${name}`,
  );
}

/** A config file's value, parsed like the flag's argument (sizes, durations, choices), or a boolean for a switch. */
function valueFor(option: Option, name: string, raw: unknown, where: string): unknown {
  const takesValue = option.required || option.optional;
  if (!takesValue) {
    if (typeof raw !== 'boolean') throw invalid(`${where} must be true or false; got ${JSON.stringify(raw)}.`);
    // `--no-metrics` in a file: { "metrics": false } or { "no-metrics": true }.
    return name.startsWith('no-') ? !raw : raw;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number') {
    throw invalid(`${where} must be a string or a number, as on the command line; got ${JSON.stringify(raw)}.`);
  }
  const text = String(raw);
  if (option.argChoices && !option.argChoices.includes(text)) {
    throw invalid(`${where} must be one of ${option.argChoices.join(', ')}; got ${JSON.stringify(text)}.`);
  }
  try {
    return option.parseArg ? option.parseArg(text, undefined) : text;
  } catch (error) {
    throw invalid(`${where}: ${(error as Error).message}`);
  }
}

/**
 * Reads `--config <file>`: a JSON object of settings named like the flags (`"store"`, `"chatTtl"` or `"chat-ttl"`),
 * each used unless the same setting came from the command line or the environment (flags > env > file > default).
 * Read at start and again on SIGHUP. Throws INVALID_OPTIONS, naming the file and the setting, for anything wrong.
 */
export function applyConfigFile(program: Command, file: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw invalid(`cannot read the config file ${file}: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid(`the config file ${file} must hold a JSON object like {"store": "redis://localhost:6379"}.`);
  }
  for (const [name, raw] of Object.entries(parsed)) {
    const option = optionNamed(program, name);
    if (option === undefined || name === 'config') {
      throw invalid(`the config file ${file} has no setting '${name}'; use the flag names, like "store" or "chatTtl".`);
    }
    const attribute = option.attributeName();
    const source = program.getOptionValueSource(attribute);
    if (source === 'cli' || source === 'env') continue;
    program.setOptionValueWithSource(attribute, valueFor(option, name, raw, `${file}: ${name}`), 'config');
  }
}
