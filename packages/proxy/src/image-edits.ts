import type { Context } from 'hono';
import type { ProxyContext } from './context.js';
import { passThrough } from './routes.js';

export function imageEdits(context: ProxyContext, c: Context): Promise<Response> {
  return Promise.resolve(passThrough(context)(c));
}
