import { createHash } from 'node:crypto';

/** A file part as the fake records it: enough for tests to tell which bytes arrived, in which order. */
export interface RecordedFile {
  readonly filename: string;
  readonly type: string;
  readonly size: number;
  readonly sha256: string;
}

/** A field's value: text, a file, or several (a field sent more than once, such as `image[]`). */
export type FormValue = string | RecordedFile | (string | RecordedFile)[];

/**
 * Parses a multipart/form-data body (images/edits) with Node's own parser; a field sent more than once becomes an
 * array in arrival order. Undefined when the body is not a readable form.
 */
export async function parseMultipart(
  bytes: Buffer,
  contentType: string,
): Promise<Record<string, FormValue> | undefined> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(bytes), { headers: { 'content-type': contentType } }).formData();
  } catch {
    return undefined;
  }
  const out: Record<string, FormValue> = {};
  const entries: [string, string | File][] = [];
  form.forEach((value, name) => {
    entries.push([name, value]);
  });
  for (const [name, value] of entries) {
    let item: string | RecordedFile = value as string;
    if (typeof value !== 'string') {
      const data = Buffer.from(await value.arrayBuffer());
      item = {
        filename: value.name,
        type: value.type,
        size: data.length,
        sha256: createHash('sha256').update(data).digest('hex'),
      };
    }
    const current = out[name];
    if (current === undefined) out[name] = item;
    else out[name] = Array.isArray(current) ? [...current, item] : [current, item];
  }
  return out;
}
