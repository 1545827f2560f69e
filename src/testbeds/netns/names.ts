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

/** An experiment's private directory (broker configs), under the system temp dir. */
export function dirName(runId: string, index: number): string {
  return `${NS_PREFIX}${runId}-${index}`;
}

const NAME_RE = /^halfopen-(\d+)-([0-9a-f]{4})-\d+-(client|router|server)$/;
const DIR_RE = /^halfopen-(\d+)-([0-9a-f]{4})-\d+$/;

/** The run id and owner pid of a lab namespace name, or null for anything not ours. */
export function parseNsName(name: string): { runId: string; ownerPid: number } | null {
  const m = NAME_RE.exec(name);
  return m ? { runId: `${m[1]}-${m[2]}`, ownerPid: Number(m[1]) } : null;
}

/** Likewise for an experiment's temp directory name. */
export function parseDirName(name: string): { runId: string; ownerPid: number } | null {
  const m = DIR_RE.exec(name);
  return m ? { runId: `${m[1]}-${m[2]}`, ownerPid: Number(m[1]) } : null;
}
