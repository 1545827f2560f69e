/**
 * Finds what a killed run left behind (namespaces named with the lab prefix) and removes it,
 * processes inside those namespaces included. veths and router rules live only inside the lab's
 * namespaces, so they go with them.
 */
import { readFileSync } from 'node:fs';
import { run } from './exec.js';
import { parseNsName } from './names.js';
import { deleteNamespace } from './topology.js';

export interface CleanupReport {
  removed: string[];
  /** Namespaces of runs whose owner process is still alive, left alone. */
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
    .filter((n) => parseNsName(n) !== null);
}

export async function cleanupNetns(opts: { force: boolean }): Promise<CleanupReport> {
  const report: CleanupReport = { removed: [], skippedLive: [] };
  for (const ns of await listLabNamespaces()) {
    const owner = parseNsName(ns)!.ownerPid;
    if (!opts.force && owner !== process.pid && alive(owner)) {
      report.skippedLive.push(ns);
      continue;
    }
    await deleteNamespace(ns);
    report.removed.push(ns);
  }
  return report;
}
