/**
 * Test helpers: real testbeds on this machine's kernel. Every helper registers its teardown, so a
 * failing assertion still leaves nothing behind.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { listLabNamespaces } from '../src/testbeds/netns/cleanup.js';
import { newRunId } from '../src/testbeds/netns/names.js';

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const PROBE = fileURLToPath(new URL('./fixtures/probe.js', import.meta.url));

/** The netns tests need root and network namespaces; say so once instead of failing obscurely. */
export const netnsSkip: string | false =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : spawnSync('ip', ['netns', 'list']).status !== 0
      ? 'needs iproute2 with netns'
      : false;

let counter = 0;
/** A run id (and index) of this test process, so parallel tests never share namespace names. */
export function labIds(): { runId: string; index: number } {
  counter += 1;
  return { runId: newRunId(), index: counter };
}

/** Asserts no namespace of ours (run id prefix) exists. */
export async function assertNoLabNamespaces(runIdPrefix: string): Promise<void> {
  const left = (await listLabNamespaces()).filter((n) => n.startsWith(`halfopen-${runIdPrefix}`));
  assert.deepEqual(left, [], `namespaces left behind: ${left.join(', ')}`);
}
