import { NO_USAGE, UNSURE, usageNullMember } from './usage-member.js';

/**
 * Usage taken out of a stored stream's events (a hit for a client that did not ask for usage). The miss path does
 * the same to the upstream's bytes as they pass (stream-usage.ts); both cut the member with usageNullMember.
 */

type Json = Record<string, unknown>;

/**
 * The UTF-8 of one stored event, for the byte scan: written into a buffer kept between calls (a hit writes
 * hundreds of events, each a few hundred bytes), grown when an event does not fit. Only events of a bounded size
 * keep it grown; a rare huge one gets a buffer of its own. The buffer and a length, not a view of it: a subarray
 * per event is an allocation that costs about as much as the rest of a short event's work.
 */
const encoder = new TextEncoder();
const SCRATCH_LIMIT = 1 << 16;
let scratch = new Uint8Array(4096);
/** Where the last event was encoded (see utf8). */
let encoded = scratch;

/** Encodes the event into `encoded`, returning its length in bytes. */
function utf8(event: string): number {
  // At most 3 bytes per UTF-16 unit (a surrogate pair is 4 bytes for 2 units).
  const most = event.length * 3;
  encoded = scratch;
  if (most > encoded.length) {
    encoded = new Uint8Array(most);
    if (most <= SCRATCH_LIMIT) scratch = encoded;
  }
  return encoder.encodeInto(event, encoded).written;
}

/**
 * The UTF-16 length of well-formed UTF-8 (what encodeInto writes): one unit per character, two for a 4-byte one.
 * Counts the bytes that are not continuations (0x80 to 0xBF), plus one more per 4-byte lead (0xF0 and up).
 */
function utf16Length(b: Uint8Array, start: number, end: number): number {
  let units = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c < 0x80 || c >= 0xc0) units += c >= 0xf0 ? 2 : 1;
  }
  return units;
}

/**
 * One event by parsing, for what the scan cannot prove: undefined to drop it (the usage chunk), the event itself
 * when there is nothing to take out (or it is not JSON), or the chunk written again without its usage.
 */
function reserializedEvent(event: string): string | undefined {
  let chunk: unknown;
  try {
    chunk = JSON.parse(event);
  } catch {
    return event;
  }
  if (typeof chunk !== 'object' || chunk === null) return event;
  const json = chunk as Json;
  // Only the usage chunk goes, as on the miss path: a chunk with no choices and `usage: null` (Azure's prompt
  // filter results) is one the upstream sends without usage too.
  if (Array.isArray(json.choices) && json.choices.length === 0 && json.usage !== undefined && json.usage !== null) {
    return undefined;
  }
  delete json.usage;
  return JSON.stringify(json);
}

/**
 * A stream recorded with `include_usage`, for a request without it: drop the usage chunk and the `usage: null`
 * fields, as the upstream would have sent it. (A request that wants usage never gets an entry without it.) Every
 * event but the last carries `"usage":null` when usage was asked for, so this runs on every event of such a hit:
 * the member is cut out of the stored text (usageNullMember, the miss path's scan), which keeps every other
 * character as the upstream sent it; only what the scan cannot prove (a non-null usage, as in the usage chunk,
 * which is dropped; escaped keys, multi-line data, not JSON) is parsed and written again.
 */
export function withoutUsage(events: readonly string[]): string[] {
  const out: string[] = [];
  for (const event of events) {
    const length = utf8(event);
    const member = usageNullMember(encoded, 0, length);
    // Not a test for "usage" first: it sits at the end of OpenAI's chunks, and finding it there costs a third of
    // the scan. The scan tells the same (a cut or NO_USAGE); only where it is unsure does the text decide, as it
    // always did: without a plain "usage" the event is kept (even if an escaped key spells it).
    if (member === NO_USAGE || (member === UNSURE && !event.includes('"usage"'))) {
      // No top-level usage (a nested one, or one inside a string, stays).
      out.push(event);
    } else if (member === UNSURE) {
      const written = reserializedEvent(event);
      if (written !== undefined) out.push(written);
    } else {
      // The cut's own bytes are ASCII (key, colon, null, comma, spaces), so its length in units is its length in
      // bytes; its place is found from the end, usually just the closing brace after it.
      const to = event.length - utf16Length(encoded, member.to, length);
      out.push(event.slice(0, to - (member.to - member.from)) + event.slice(to));
    }
  }
  return out;
}
