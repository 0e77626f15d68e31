export const DEFAULT_MODELS: readonly string[] = [
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4.1',
  'gpt-4.1-mini',
  'o4-mini',
  'gpt-5',
  'text-embedding-3-small',
  'text-embedding-3-large',
  'dall-e-3',
  'gpt-image-1',
];

// A fixed date, so listing the models is the same on every run.
const CREATED = 1_700_000_000;

export function modelObject(id: string) {
  return { id, object: 'model', created: CREATED, owned_by: 'system' };
}

export function modelList(ids: readonly string[]) {
  return { object: 'list', data: ids.map(modelObject) };
}
