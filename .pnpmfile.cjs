// sqlite3 (under @keyv/sqlite) compiles with node-gyp, which otherwise downloads Node's headers from nodejs.org.
// Machines without internet but with Node's headers installed next to the binary build offline when we point
// node-gyp at them: Debian's nodejs keeps them in <prefix>/include/node, and the npm registry's `node` package
// (how the Node matrix gets Node 24 and 26, see scripts/node-matrix.mjs) in its node-<platform>-<arch> package.
// pnpm >= 11 only passes allowlisted env vars to install scripts, so this hook is the way to hand it
// `npm_config_nodedir`.
const { existsSync } = require('node:fs');
const { resolve } = require('node:path');

function installedHeaders() {
  const prefix = resolve(process.execPath, '..', '..');
  const candidates = [prefix, resolve(prefix, 'node_modules', `node-${process.platform}-${process.arch}`)];
  return candidates.find((dir) => existsSync(resolve(dir, 'include', 'node', 'node.h')));
}

module.exports = {
  hooks: {
    updateConfig(config) {
      if (process.env.npm_config_nodedir) return config;
      const nodedir = installedHeaders();
      if (!nodedir) return config;
      config.extraEnv = { ...config.extraEnv, npm_config_nodedir: nodedir };
      return config;
    },
  },
};
