export { CliError, describeFailure, redact } from './errors.js';
export { createProgram, run } from './program.js';
