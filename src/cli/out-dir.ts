/**
 * Where a command will write, checked before anything runs: a run whose results cannot be written
 * must fail at once, not after the experiment (its measurements would be lost). Nothing is created.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LabUnavailableError } from '../errors.js';

/** The nearest part of `path` that exists (the directory a `mkdir -p` would start from). */
function existing(path: string): { path: string; isDir: boolean } {
  let p = resolve(path);
  for (;;) {
    try {
      return { path: p, isDir: statSync(p).isDirectory() };
    } catch {
      const up = dirname(p);
      if (up === p) return { path: p, isDir: true };
      p = up;
    }
  }
}

/**
 * Can `dir` be created (or, if it exists, written to)? `what` names the flag (`--out`). A path
 * that is a file where a directory is needed, or a directory the user may not write, is one line
 * and exit 4 (the machine refuses, whatever the command says).
 */
export function checkWritableDir(dir: string, what: string): void {
  const at = existing(dir);
  if (!at.isDir)
    throw new LabUnavailableError(
      `${what} '${dir}': ${at.path} is a file, not a directory; choose another ${what}`,
    );
  try {
    accessSync(at.path, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'not writable';
    throw new LabUnavailableError(
      `${what} '${dir}': cannot write in ${at.path} (${code}); choose another ${what}`,
    );
  }
}

/** A file to be written (`--junit report.xml`): its directory must be writable, and it no directory. */
export function checkWritableFile(file: string, what: string): void {
  try {
    if (statSync(file).isDirectory())
      throw new LabUnavailableError(`${what} '${file}' is a directory; name a file`);
  } catch (err) {
    if (err instanceof LabUnavailableError) throw err;
  }
  checkWritableDir(dirname(resolve(file)), what);
}
