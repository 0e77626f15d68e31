#!/usr/bin/env node
import { run } from './program.js';

const code = await run(process.argv);
// Exit once stdout and stderr are flushed, rather than when the event loop empties: a Redis client that failed
// to connect can keep a retry timer alive for seconds after the answer is known.
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
