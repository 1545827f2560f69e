/**
 * Every namespace the lab creates is named `halfopen-<pid>-<rand>-<n>-<role>`: the prefix makes
 * it findable by `halfopen cleanup`, and the owner's pid tells whether its run is still alive.
 */
import { randomBytes } from 'node:crypto';

export const NS_PREFIX = 'halfopen-';
export type Role = 'client' | 'router' | 'server';

export const newRunId = (): string => `${process.pid}-${randomBytes(2).toString('hex')}`;

export function nsName(runId: string, index: number, role: Role): string {
  return `${NS_PREFIX}${runId}-${index}-${role}`;
}

/**
 * Prefix of an experiment's private directory (broker configs) under the system temp dir;
 * mkdtemp adds six random characters, so the name is `halfopen-<pid>-<rand>-<n>-XXXXXX`.
 */
export function dirPrefix(runId: string, index: number): string {
  return `${NS_PREFIX}${runId}-${index}-`;
}

/** Namespaces end in their role, directories in mkdtemp's six characters: one shape for both. */
const NAME_RE = /^halfopen-(\d+)-([0-9a-f]{4})-\d+-[A-Za-z0-9]{6}$/;

/**
 * The run id and owner pid of a lab namespace or temp directory name, or null for anything not
 * the lab's.
 */
export function parseLabName(name: string): { runId: string; ownerPid: number } | null {
  const m = NAME_RE.exec(name);
  return m ? { runId: `${m[1]}-${m[2]}`, ownerPid: Number(m[1]) } : null;
}
