/**
 * Finds what a killed run left behind (namespaces and temp directories named with the lab prefix)
 * and removes it, processes inside those namespaces included. veths and router rules live only
 * inside the lab's namespaces, so they go with them.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { run } from './exec.js';
import { parseLabName } from './names.js';
import { deleteNamespace } from './topology.js';

export interface CleanupReport {
  removed: string[];
  /** Temp directories (broker configs) removed. */
  removedDirs: string[];
  /** Namespaces and directories of runs whose owner process is still alive, left alone. */
  skippedLive: string[];
}

/** Is the run's owner still a live node process? (A reused pid running something else is not.) */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return false;
  }
}

export async function listLabNamespaces(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => parseLabName(n) !== null);
}

/** Where `ip netns exec` finds a namespace's own /etc files (the kube testbed's hosts file). */
export const NETNS_ETC = '/etc/netns';

/** The lab's temp directories, and its namespaces' /etc/netns directories (full paths). */
export function listLabDirs(): string[] {
  const under = (root: string): string[] => {
    try {
      return readdirSync(root)
        .filter((n) => parseLabName(n) !== null)
        .map((n) => join(root, n));
    } catch {
      return [];
    }
  };
  return [...under(tmpdir()), ...under(NETNS_ETC)];
}

export async function cleanupNetns(opts: { force: boolean }): Promise<CleanupReport> {
  const report: CleanupReport = { removed: [], removedDirs: [], skippedLive: [] };
  const spare = (owner: number): boolean => !opts.force && owner !== process.pid && alive(owner);
  for (const ns of await listLabNamespaces()) {
    if (spare(parseLabName(ns)!.ownerPid)) {
      report.skippedLive.push(ns);
      continue;
    }
    await deleteNamespace(ns);
    report.removed.push(ns);
  }
  for (const dir of listLabDirs()) {
    if (spare(parseLabName(basename(dir))!.ownerPid)) {
      report.skippedLive.push(dir);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
    report.removedDirs.push(dir);
  }
  return report;
}
