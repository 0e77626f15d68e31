import { defineConfig } from 'tsup';
import { command, library } from '../../tsup.base.js';

// The library, and the `llmemo-proxy` command.
export default defineConfig([library, command({ bin: 'src/bin.ts' })]);
