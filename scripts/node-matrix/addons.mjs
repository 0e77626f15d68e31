// Native addons (today sqlite3, under @keyv/sqlite) are built by node-gyp for the Node that ran `pnpm install`.
// A binary built for another Node must never be loaded: sqlite3 built against Node 24's headers (N-API 10)
// crashes Node 20 with a segmentation fault. So each Node of the matrix gets its own build, kept in
// .node/<major>/addons/, and only for the length of its pass is it put where `bindings` looks
// (build/Release/*.node); the installed binary goes back afterwards, also after a crash or Ctrl-C.
//
// pnpm hard-links package files from its store, shared with every other checkout on the machine: a file there is
// never written to. A swap puts a new file in place by rename, and the restore links the installed one back.
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { envWithNode, run } from './proc.mjs';

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function listDir(dir) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Package folders directly in a node_modules folder, scoped ones included. */
function packageDirs(modules) {
  const dirs = [];
  for (const entry of listDir(modules)) {
    if (entry.name.startsWith('.')) continue;
    if (!entry.name.startsWith('@')) dirs.push(join(modules, entry.name));
    else for (const scoped of listDir(join(modules, entry.name))) dirs.push(join(modules, entry.name, scoped.name));
  }
  return dirs;
}

const slug = (addon) => `${addon.name.replace('/', '+')}@${addon.version}`;

/** Every installed package that node-gyp built (a binding.gyp and build/Release/*.node). */
export function findAddons(root) {
  const virtualStore = join(root, 'node_modules', '.pnpm');
  if (!existsSync(virtualStore)) throw new Error('node_modules/.pnpm is missing: run `pnpm install` first');
  const found = new Map();
  for (const entry of listDir(virtualStore)) {
    for (const candidate of packageDirs(join(virtualStore, entry.name, 'node_modules'))) {
      if (!existsSync(join(candidate, 'binding.gyp'))) continue;
      const dir = realpathSync(candidate);
      const binaries = listDir(join(dir, 'build', 'Release'))
        .filter((file) => file.name.endsWith('.node'))
        .map((file) => join('build', 'Release', file.name));
      if (found.has(dir) || binaries.length === 0) continue;
      if (!dir.startsWith(root + sep)) {
        throw new Error(
          `${dir} is outside this checkout (pnpm's global virtual store?): swapping its binary would change it for ` +
            'every project on the machine. Install with enableGlobalVirtualStore: false to run the Node matrix.',
        );
      }
      const { name, version } = readJson(join(dir, 'package.json'));
      const modulesDir = name.includes('/') ? dirname(dirname(dir)) : dirname(dir);
      found.set(dir, { name, version, dir, modulesDir, binaries });
    }
  }
  return [...found.values()];
}

function nodeGypScript(addon) {
  try {
    const manifest = createRequire(join(addon.dir, 'package.json')).resolve('node-gyp/package.json');
    return join(dirname(manifest), 'bin', 'node-gyp.js');
  } catch {
    throw new Error(`${addon.name} has no node-gyp beside it to rebuild with (it is an optional dependency of it)`);
  }
}

/**
 * A copy of the package without its build, its dependencies linked in its node_modules (deps/extract.js needs
 * tar). A dependency with a .gyp file (node-addon-api) is copied instead: binding.gyp includes it through
 * `node -p "require('node-addon-api').gyp"`, and gyp writes its build files under build/ at that file's
 * relative path, which through pnpm's links would climb out of the copy.
 */
function copySources(addon, work) {
  const skip = new Set(['build', 'node_modules']);
  cpSync(addon.dir, work, { recursive: true, filter: (src) => !skip.has(relative(addon.dir, src).split(sep)[0]) });
  const { dependencies = {} } = readJson(join(addon.dir, 'package.json'));
  for (const name of Object.keys(dependencies)) {
    const from = join(addon.modulesDir, name);
    if (!existsSync(from)) continue;
    const real = realpathSync(from);
    const to = join(work, 'node_modules', name);
    mkdirSync(dirname(to), { recursive: true });
    if (!listDir(real).some((file) => file.name.endsWith('.gyp'))) symlinkSync(real, to);
    else cpSync(real, to, { recursive: true, filter: (src) => relative(real, src).split(sep)[0] !== 'node_modules' });
  }
  return work;
}

/**
 * This addon's binaries built for one Node, from .node/<major>/addons when they were built for exactly this
 * version, else by node-gyp against the `node` package's own headers (no download), in a copy of the package
 * so the installed one is never touched. Each binary is loaded once by that Node before it is trusted.
 */
export async function buildAddon(addon, node, log) {
  const cacheDir = join(node.prefix, 'addons', slug(addon));
  const files = addon.binaries.map((rel) => ({ rel, cached: join(cacheDir, rel) }));
  const stamp = readJson(join(cacheDir, 'stamp.json'));
  if (stamp?.node === node.version && files.every((file) => existsSync(file.cached))) return { files, built: false };

  rmSync(cacheDir, { recursive: true, force: true });
  const work = copySources(addon, join(cacheDir, 'src'));
  const logFile = join(cacheDir, 'build.log');
  log(
    `${slug(addon)}: building for Node ${node.version} with node-gyp (a few minutes; log: ${relative(process.cwd(), logFile)})`,
  );
  const gypArgs = [nodeGypScript(addon), 'rebuild', `--nodedir=${node.headers}`, '--jobs=max'];
  const env = envWithNode(node.binDir, { npm_config_nodedir: node.headers });
  const result = await run(node.bin, gypArgs, { cwd: work, env, logFile });
  if (result.code !== 0) {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    throw new Error(`node-gyp could not build ${slug(addon)} for Node ${node.version}:\n${tail}`);
  }
  for (const file of files) {
    mkdirSync(dirname(file.cached), { recursive: true });
    copyFileSync(join(work, file.rel), file.cached);
    const load = await run(node.bin, ['-e', 'process.dlopen({ exports: {} }, process.argv[1])', file.cached], {
      capture: true,
    });
    if (load.code !== 0)
      throw new Error(`Node ${node.version} cannot load its own build of ${file.rel}:\n${load.stderr}`);
  }
  rmSync(work, { recursive: true, force: true });
  const builtFor = { node: node.version, modules: node.modules, napi: node.napi, package: slug(addon) };
  writeFileSync(join(cacheDir, 'stamp.json'), `${JSON.stringify(builtFor, null, 2)}\n`);
  return { files, built: true };
}

const markerFile = (root) => join(root, '.node', 'swapped.json');

function linkOrCopy(from, to) {
  rmSync(to, { force: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** Puts one Node's builds in place of the installed binaries, writing down how to undo it first. */
export function swapIn(root, builds) {
  const marker = { entries: [] };
  for (const { addon, files } of builds) {
    for (const file of files) {
      const target = join(addon.dir, file.rel);
      const original = join(root, '.node', 'installed', slug(addon), file.rel);
      mkdirSync(dirname(original), { recursive: true });
      linkOrCopy(target, original);
      const staged = `${target}.node-matrix`;
      copyFileSync(file.cached, staged);
      marker.entries.push({ target, original, swappedIno: statSync(staged).ino });
      writeFileSync(markerFile(root), `${JSON.stringify(marker, null, 2)}\n`);
      renameSync(staged, target);
    }
  }
}

/**
 * Puts the installed binaries back after a swap (also one left by a run that was killed). Returns what it did;
 * a binary replaced since the swap (by `pnpm install` or `pnpm rebuild`) is left as it is.
 */
export function restore(root) {
  const marker = readJson(markerFile(root));
  if (!marker) return { restored: [], notes: [] };
  const restored = [];
  const notes = [];
  for (const { target, original, swappedIno } of marker.entries) {
    const current = existsSync(target) ? statSync(target) : undefined;
    if (!existsSync(original)) {
      notes.push(`${target}: the saved installed binary is gone; run \`pnpm rebuild\``);
    } else if (current?.ino === statSync(original).ino) {
      // Already the installed one (the run stopped before the swap).
    } else if (current && current.ino !== swappedIno) {
      notes.push(`${target}: changed since the swap (pnpm install or rebuild?); left as it is`);
    } else {
      const staged = `${target}.node-matrix`;
      linkOrCopy(original, staged);
      renameSync(staged, target);
      restored.push(target);
    }
  }
  rmSync(markerFile(root), { force: true });
  return { restored, notes };
}
