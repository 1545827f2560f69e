/** The lab's own version, from its package.json (dist/src/cli is three levels below it). */
import { readFileSync } from 'node:fs';

export const HALFOPEN_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
