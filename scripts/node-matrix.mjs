#!/usr/bin/env node
// `pnpm test:node-matrix`: the test suite once more under each newer Node major our users run (24 and 26 unless
// told otherwise), each the npm registry's `node` package installed into .node/<major> (never over the system
// Node), with native addons built for it. `pnpm test` is the pass on the system Node (20 in CI).
//
//   node scripts/node-matrix.mjs [--node 24,26] [vitest args…]   LLMEMO_NODE_MATRIX=22,24 works as --node
//   node scripts/node-matrix.mjs --restore   prints the system Node's version and puts back native binaries
//                                            that a killed matrix run left swapped (`pnpm test` runs it first)
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon, findAddons, restore, swapIn } from './node-matrix/addons.mjs';
import { acquire, holder, release } from './node-matrix/lock.mjs';
import { envWithNode, run, running } from './node-matrix/proc.mjs';
import { ensureNode } from './node-matrix/runtime.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stdout.write(`${line}\n`);
const log = (line) => say(`[node-matrix] ${line}`);
const banner = (text) => say(`\n━━━━ ${text} ━━━━\n`);

function usage(problem) {
  process.stderr.write(`${problem}\nusage: node scripts/node-matrix.mjs [--node 24,26] [vitest args…] | --restore\n`);
  process.exit(2);
}

function parseArgs(argv) {
  let majors = process.env.LLMEMO_NODE_MATRIX || '24,26';
  let restoreOnly = false;
  const vitestArgs = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--restore') restoreOnly = true;
    else if (arg === '--node') majors = argv[++i] ?? usage('--node needs a list of Node majors, e.g. --node 24,26');
    else if (arg.startsWith('--node=')) majors = arg.slice('--node='.length);
    else if (arg === '--help' || arg === '-h') usage('Runs the tests under other Node majors.');
    else vitestArgs.push(arg);
  }
  const list = majors.split(',').map((m) => m.trim().replace(/^v/, ''));
  if (list.some((m) => !/^\d+$/.test(m) || Number(m) < 20)) usage(`not a list of Node majors >= 20: "${majors}"`);
  return { majors: [...new Set(list)].map(Number), vitestArgs, restoreOnly };
}

function seconds(ms) {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function putBack() {
  const { restored, notes } = restore(root);
  for (const target of restored) log(`put back the installed ${relative(root, target)}`);
  for (const note of notes) log(`warning: ${note}`);
}

/** Installs one Node and builds every native addon for it; several Nodes are prepared side by side. */
async function prepare(major, addons) {
  const row = { major, install: 0, build: 0, tests: 0 };
  try {
    let started = Date.now();
    row.node = await ensureNode(root, major, log);
    row.install = Date.now() - started;
    started = Date.now();
    row.builds = [];
    for (const addon of addons) row.builds.push({ addon, ...(await buildAddon(addon, row.node, log)) });
    row.build = Date.now() - started;
    const what = row.builds.map((b) => `${b.addon.name}@${b.addon.version} ${b.built ? 'built' : 'cached'}`);
    log(
      `Node ${row.node.version} ready in ${seconds(row.install + row.build)} (${what.join(', ') || 'no native addons'})`,
    );
  } catch (error) {
    row.error = error;
    log(`Node ${major}: ${error.message}`);
  }
  return row;
}

/** One pass of the test suite under `row.node`, with its own native builds in place only for that pass. */
async function testPass(row, vitestArgs) {
  const vitestDir = dirname(createRequire(join(root, 'package.json')).resolve('vitest/package.json'));
  const { node } = row;
  const natives = row.builds.map((b) => `${b.addon.name}@${b.addon.version} built for ${node.version}`);
  const started = Date.now();
  try {
    swapIn(root, row.builds);
    const command = ['vitest run', ...vitestArgs].join(' ');
    banner([`Node ${node.version} (${relative(root, node.bin)})`, ...natives, command].join(' · '));
    // PATH first: test servers, the CLI and anything spawned as `node` run on this Node too.
    const result = await run(node.bin, [join(vitestDir, 'vitest.mjs'), 'run', ...vitestArgs], {
      cwd: root,
      env: envWithNode(node.binDir),
    });
    row.passed = result.code === 0;
  } finally {
    putBack();
    row.tests = Date.now() - started;
  }
}

function summary(rows, stopped) {
  say(`\nNode matrix (the system Node ran in \`pnpm test\`)${stopped ? `, stopped by ${stopped}` : ''}:`);
  say('  node        install    native build   tests          result');
  for (const row of rows) {
    let result = row.passed ? 'passed' : 'FAILED';
    if (row.error) result = `failed: ${row.error.message.split('\n')[0]}`;
    else if (row.passed === undefined) result = 'not run';
    const cells = [row.node?.version ?? `${row.major}.x`, seconds(row.install), seconds(row.build), seconds(row.tests)];
    say(`  ${cells[0].padEnd(12)}${cells[1].padEnd(11)}${cells[2].padEnd(15)}${cells[3].padEnd(15)}${result}`);
  }
}

async function main() {
  const { majors, vitestArgs, restoreOnly } = parseArgs(process.argv.slice(2));
  if (restoreOnly) {
    const pid = holder(root);
    if (pid) {
      log(
        `a Node matrix run (pid ${pid}) has its own native builds in place; wait for it or stop it, then test (none running? delete .node/matrix.pid)`,
      );
      return 1;
    }
    putBack();
    release(root);
    banner(`Node ${process.version} (${process.execPath}): the system Node, native addons as installed`);
    return 0;
  }
  acquire(root);
  // A crash must not leave another Node's binary for the next `pnpm test` (it would crash Node 20).
  process.on('exit', () => {
    putBack();
    release(root);
  });
  putBack();
  let stopped;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      stopped = signal;
      for (const child of running) child.kill(signal);
    });
  }
  const started = Date.now();
  const addons = findAddons(root);
  const names = addons.map((a) => `${a.name}@${a.version}`).join(', ') || 'none';
  log(`testing on Node ${majors.join(', ')} from the npm registry; native addons rebuilt for each: ${names}`);
  const rows = await Promise.all(majors.map((major) => prepare(major, addons)));
  for (const row of rows) if (!row.error && !stopped) await testPass(row, vitestArgs);
  summary(rows, stopped);
  say(`  total ${seconds(Date.now() - started)}`);
  if (stopped) return 128 + os.constants.signals[stopped];
  return rows.every((row) => row.passed) ? 0 : 1;
}

process.exitCode = await main().catch((error) => {
  log(error.message);
  return 1;
});
