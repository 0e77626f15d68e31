// One matrix run per checkout: two would swap the same native binaries under each other, and `pnpm test` must not
// put the installed binary back (or run on another Node's) while a matrix pass is using its own.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const lockFile = (root) => join(root, '.node', 'matrix.pid');

/** The pid of a live matrix run in this checkout, or undefined. */
export function holder(root) {
  let pid;
  try {
    pid = Number(readFileSync(lockFile(root), 'utf8'));
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return error.code === 'EPERM' ? pid : undefined;
  }
}

/** Takes the lock (a dead run's lock is taken over); throws when a live run holds it. */
export function acquire(root) {
  const pid = holder(root);
  if (pid)
    throw new Error(
      `another Node matrix run (pid ${pid}) is using this checkout; wait for it or stop it (none running? delete .node/matrix.pid)`,
    );
  mkdirSync(dirname(lockFile(root)), { recursive: true });
  writeFileSync(lockFile(root), String(process.pid));
}

export function release(root) {
  if (holder(root) === undefined) rmSync(lockFile(root), { force: true });
}
