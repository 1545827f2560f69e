/**
 * `npm run docs`: writes the reference (docs/reference/, scenario.schema.json) from the code, and
 * says which files changed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceFiles } from './reference.js';

// dist/src/docs/write.js -> the repository's root.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

const read = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

let changed = 0;
for (const [rel, text] of referenceFiles()) {
  const path = join(ROOT, rel);
  if (read(path) === text) continue;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${rel}\n`);
  changed++;
}
process.stdout.write(changed ? `${changed} file(s) changed\n` : 'the reference is up to date\n');
