// sqlite3 (under @keyv/sqlite) compiles with node-gyp, which otherwise downloads Node's headers from nodejs.org.
// Machines without internet but with Node's headers installed next to the binary (Debian's nodejs does this)
// build offline when we point node-gyp at them. pnpm >= 11 only passes allowlisted env vars to install scripts,
// so this hook is the way to hand it `npm_config_nodedir`.
const { existsSync } = require('node:fs');
const { resolve } = require('node:path');

module.exports = {
  hooks: {
    updateConfig(config) {
      if (process.env.npm_config_nodedir) return config;
      const prefix = resolve(process.execPath, '..', '..');
      if (!existsSync(resolve(prefix, 'include', 'node', 'node.h'))) return config;
      config.extraEnv = { ...config.extraEnv, npm_config_nodedir: prefix };
      return config;
    },
  },
};
