// One Node major from the npm registry's `node` package, installed into .node/<major> of the checkout, never over
// the system Node. That package's preinstall fetches `node-<platform>-<arch>`, which ships the binary *and* Node's
// headers (include/node, with common.gypi and config.gypi), so node-gyp builds against them with no download.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.mjs';

/** Reads `version` from a package.json, or undefined when it is missing or unreadable. */
function packageVersion(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return undefined;
  }
}

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** The newest `node@<major>` on the registry, or undefined when the registry cannot be asked. */
async function latestVersion(major) {
  const result = await run('npm', ['view', `node@${major}`, 'version', '--json'], { capture: true });
  if (result.code !== 0) return undefined;
  const parsed = JSON.parse(result.stdout || 'null');
  const versions = (Array.isArray(parsed) ? parsed : [parsed]).filter((v) => typeof v === 'string');
  return versions.sort(compareVersions).at(-1);
}

/** The platform package inside the `node` package: it holds the headers node-gyp needs. */
function headersDir(packageDir) {
  const modules = join(packageDir, 'node_modules');
  const names = existsSync(modules) ? readdirSync(modules) : [];
  const name = names.find((n) => n.startsWith('node-') && existsSync(join(modules, n, 'include', 'node', 'node.h')));
  return name && join(modules, name);
}

/**
 * Makes sure `.node/<major>` holds the newest `node@<major>` (installing or updating it with npm) and returns
 * where its binary and headers are. An installed one is kept when the registry cannot be asked.
 */
export async function ensureNode(root, major, log) {
  const prefix = join(root, '.node', String(major));
  const packageDir = join(prefix, 'lib', 'node_modules', 'node');
  const installed = packageVersion(join(packageDir, 'package.json'));
  const latest = await latestVersion(major);
  if (!latest && !installed) {
    throw new Error(`cannot ask the npm registry for node@${major} (is npm configured?) and none is in ${prefix}`);
  }
  const wanted = latest ?? installed;
  let installedNow = false;
  if (installed !== wanted || !existsSync(join(prefix, 'bin', 'node'))) {
    log(`Node ${major}: installing node@${wanted} from the npm registry into .node/${major}`);
    rmSync(prefix, { recursive: true, force: true });
    // -g with --prefix keeps it out of the system Node. Not --allow-scripts for the `node` package's preinstall:
    // npm hands the flag on to the nested project install that preinstall runs, where npm refuses it.
    const args = ['install', '-g', '--prefix', prefix, `node@${wanted}`];
    const result = await run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { capture: true });
    if (result.code !== 0) throw new Error(`npm could not install node@${wanted}:\n${result.stdout}${result.stderr}`);
    installedNow = true;
  } else if (!latest) {
    log(`Node ${major}: the npm registry did not answer; using the installed node@${installed}`);
  }
  const bin = join(prefix, 'bin', 'node');
  const probe = await run(
    bin,
    ['-p', 'JSON.stringify([process.version, process.versions.modules, process.versions.napi])'],
    {
      capture: true,
    },
  );
  if (probe.code !== 0) throw new Error(`${bin} does not run: ${probe.stderr.trim()}`);
  const [version, modules, napi] = JSON.parse(probe.stdout);
  if (version.slice(1).split('.')[0] !== String(major)) throw new Error(`${bin} is ${version}, not Node ${major}`);
  const headers = headersDir(packageDir);
  if (!headers) throw new Error(`node@${wanted} in ${packageDir} has no include/node/node.h for node-gyp`);
  return { major, prefix, bin, binDir: join(prefix, 'bin'), version, modules, napi, headers, installedNow };
}
