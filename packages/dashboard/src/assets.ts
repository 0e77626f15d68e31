import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

/** The page's files: a fixed list, so no request path can reach any other file. */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'charts.js': 'text/javascript; charset=utf-8',
  'render.js': 'text/javascript; charset=utf-8',
  'format.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
  'vendor/uPlot.iife.min.js': 'text/javascript; charset=utf-8',
  'vendor/uPlot.min.css': 'text/css; charset=utf-8',
};

/** Where node_modules keeps what the build copies to public/vendor (a source checkout that was not built). */
const VENDOR_SOURCES: Record<string, string> = {
  'vendor/uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'vendor/uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

function locate(name: string): string {
  const built = fileURLToPath(new URL(`../public/${name}`, import.meta.url));
  if (existsSync(built) || !(name in VENDOR_SOURCES)) return built;
  try {
    return createRequire(import.meta.url).resolve(VENDOR_SOURCES[name]!);
  } catch {
    return built;
  }
}

let loaded: Map<string, Asset> | undefined;

/** Reads the page's files once (they are small: about 80 KB with the chart library). */
export function assets(): Map<string, Asset> {
  if (loaded) return loaded;
  const map = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    const path = locate(name);
    let body: Uint8Array;
    try {
      body = readFileSync(path);
    } catch (error) {
      throw new Error(
        `@llmemo/dashboard is missing its file ${name} (${(error as Error).message}). Reinstall the package, or run its build in a source checkout.`,
      );
    }
    map.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  loaded = map;
  return map;
}
