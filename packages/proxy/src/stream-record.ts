import {
  CompletionAssembly,
  mayDecide,
  parseEvent,
  StreamCheck,
  type StreamVerdict,
  streamRefused,
} from './chat-format.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The text of a plain content delta around its content: `prefix + <any JSON string> + suffix` parses to the same
 * chunk with that string as the content. Nearly every event of a streamed answer is one of these, the same bytes
 * but for the content; a text of this shape is read by parsing its content alone, not the whole chunk again.
 */
interface Template {
  prefix: string;
  suffix: string;
  /** The choice of the chunk, its delta aside (index, with null logprobs and finish_reason). */
  choice: Json;
}

const MARK = '\u0000llmemo"\\mark';
/** How many events may be tried as the template before a stream is read without one. */
const TEMPLATE_TRIES = 8;
/** Where a `"content": "…"` member's string may begin. */
const CONTENT_KEY = /"content"\s*:\s*"/g;

/** The index just past the string literal that starts (with its quote) at `start`, or -1. */
function literalEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 92) i++;
    else if (code === 34) return i + 1;
  }
  return -1;
}

/** A plain delta's chunk: one choice, whose delta is only a content string, not finished, no logprobs or usage. */
function isPlainDelta(chunk: Json): chunk is Json & { choices: [Json & { delta: { content: string } }] } {
  if (isObject(chunk.usage) || !Array.isArray(chunk.choices) || chunk.choices.length !== 1) return false;
  const choice = chunk.choices[0];
  if (!isObject(choice) || !isObject(choice.delta)) return false;
  for (const key of Object.keys(choice))
    if (!['index', 'delta', 'logprobs', 'finish_reason'].includes(key)) return false;
  const keys = Object.keys(choice.delta);
  return (
    keys.length === 1 &&
    keys[0] === 'content' &&
    typeof choice.delta.content === 'string' &&
    (choice.logprobs === null || choice.logprobs === undefined) &&
    (choice.finish_reason === null || choice.finish_reason === undefined)
  );
}

/**
 * The template of a plain delta's text, checked: with a marker string in place of its content, the text parses to
 * the very same chunk but for that content (so the split is at the content's own string, whatever else the text
 * holds). Undefined for any other event.
 */
function templateOf(event: string, chunk: Json): Template | undefined {
  if (!isPlainDelta(chunk)) return undefined;
  const { delta, ...choice } = chunk.choices[0];
  // Members in their order in the text (the delta where it was), as JSON.parse of the marked text gives them.
  const expected = JSON.stringify({ ...chunk, choices: [{ ...chunk.choices[0], delta: { content: MARK } }] });
  for (const match of event.matchAll(CONTENT_KEY)) {
    const start = match.index + match[0].length - 1;
    const end = literalEnd(event, start);
    if (end < 0) return undefined;
    const prefix = event.slice(0, start);
    const suffix = event.slice(end);
    const marked = parseEvent(`${prefix}${JSON.stringify(MARK)}${suffix}`);
    if (JSON.stringify(marked) === expected && parseEvent(event.slice(start, end)) === delta.content) {
      return { prefix, suffix, choice };
    }
  }
  return undefined;
}

/** A JSON string literal with nothing to unescape: quotes around characters that are not a quote, a backslash or a control character. */
function plainLiteral(text: string): boolean {
  const last = text.length - 1;
  if (last < 1 || text.charCodeAt(0) !== 34 || text.charCodeAt(last) !== 34) return false;
  for (let i = 1; i < last; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 || code === 34 || code === 92) return false;
  }
  return true;
}

/** The content of an event of the template's shape (read from its content alone), or undefined. */
function contentOf(event: string, template: Template): string | undefined {
  const { prefix, suffix } = template;
  if (event.length < prefix.length + suffix.length + 2 || !event.startsWith(prefix) || !event.endsWith(suffix)) {
    return undefined;
  }
  const literal = event.slice(prefix.length, event.length - suffix.length);
  if (plainLiteral(literal)) return literal.slice(1, -1);
  const content = parseEvent(literal);
  return typeof content === 'string' ? content : undefined;
}

/**
 * checkStream and eventsToCompletion of a recorded stream in one pass: the verdict, and when it is complete the
 * completion. What they would give, exactly, for less: each event is parsed once, and the plain content deltas
 * (nearly all of a long answer) only by their content string. An event of a checked template's shape differs from
 * the template's own event only inside the content string, where no finish_reason, usage or error can be (any quote
 * there is escaped), so it adds nothing to the verdict that its template did not, and to the completion only its
 * content.
 */
export function recordStreamed(
  events: readonly string[],
  done: boolean,
  namedEvents: boolean,
  choices: number,
  cacheContentFilter: boolean,
): { verdict: StreamVerdict; completion?: Json } {
  const refused = streamRefused(done, namedEvents);
  if (refused !== undefined) return { verdict: { complete: false, reason: refused } };
  const check = new StreamCheck(choices, cacheContentFilter);
  // In order: a parsed chunk, or a plain delta's content string (its template's choice index beside it).
  const parts: (Json | string)[] = [];
  const indexes: unknown[] = [];
  let template: Template | undefined;
  // A stream whose first few events give no template will not give one (an upstream that writes every chunk its
  // own way): it is read the ordinary way, without trying each event.
  let tries = TEMPLATE_TRIES;
  for (let position = 0; position < events.length; position++) {
    const event = events[position]!;
    const content = template === undefined ? undefined : contentOf(event, template);
    if (content !== undefined) {
      parts.push(content);
      indexes.push(template!.choice.index);
      continue;
    }
    const chunk = parseEvent(event);
    if ((position === 0 || mayDecide(event)) && !check.add(chunk)) return { verdict: check.verdict(events.length) };
    if (!isObject(chunk)) continue;
    parts.push(chunk);
    indexes.push(undefined);
    // Only after the event itself went through the check: its template's events add to the verdict what it did.
    if (template === undefined && tries > 0) {
      tries--;
      template = templateOf(event, chunk);
    }
  }
  const verdict = check.verdict(events.length);
  if (!verdict.complete) return { verdict };
  const assembly = new CompletionAssembly();
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (typeof part === 'string') assembly.addContent(indexes[i], part);
    else assembly.add(part);
  }
  return { verdict, completion: assembly.completion() };
}
