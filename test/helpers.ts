/**
 * Test helpers: real testbeds on this machine's kernel. Every helper registers its teardown, so a
 * failing assertion still leaves nothing behind.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runExperiment, type ExperimentResult } from '../src/runner/experiment.js';
import {
  parseStrategy,
  parseWorkload,
  type ExperimentSpec,
  type FaultName,
  type TargetName,
} from '../src/scenario/spec.js';
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

/** A TCP experiment as `halfopen run` would build it; `more` overrides any field. */
export function spec(
  strategy: string,
  workload: string,
  fault: FaultName,
  more: Partial<ExperimentSpec> = {},
): ExperimentSpec {
  return {
    testbed: 'netns',
    target: 'tcp',
    strategy: parseStrategy(strategy),
    workload: parseWorkload(workload),
    fault,
    healMs: null,
    restartMs: null,
    qos: 0,
    deadlineMs: 10_000,
    warmupMs: 1000,
    sysctls: {},
    ...more,
  };
}

/** The same for a broker target. */
export const brokerSpec = (
  target: TargetName,
  strategy: string,
  workload: string,
  fault: FaultName,
  more: Partial<ExperimentSpec> = {},
): ExperimentSpec => spec(strategy, workload, fault, { target, ...more });

/** Runs one experiment through the runner and checks it left no namespace behind. */
export async function measure(s: ExperimentSpec): Promise<ExperimentResult> {
  const ids = labIds();
  const r = await runExperiment(s, ids);
  await assertNoLabNamespaces(ids.runId);
  return r;
}

export const describeResult = (r: ExperimentResult): string =>
  `detect ${r.detect_ms} ms (${r.detect_reason}), predicted ${JSON.stringify(r.predicted_ms)}, verdict ${r.verdict}, sent ${r.sent}, lost ${r.lost}, stale ${r.stale_sent}, dup ${r.duplicates}, reconnect ${r.reconnect_ms}`;

/**
 * Messages at `rate` per second that may cross while a fault is being applied: T0 is marked
 * before the iptables transaction, which takes `fault_apply_ms` (a few ms, more on a loaded
 * machine), and one more may be in flight at either edge.
 */
export const crossing = (r: ExperimentResult, rate: number): number =>
  1 + Math.ceil((rate * (r.fault_apply_ms ?? 0)) / 1000);

/**
 * Runs `node <args>` as on a machine without `binary`: in a private mount namespace (root only)
 * where /usr/sbin holds everything but it. The run's pid is the one returned (unshare and bash
 * exec into node).
 */
export function withoutBinary(binary: string, args: string[], cwd: string) {
  const script = [
    'set -e',
    'mount --make-rprivate /',
    'mkdir -p "$1"',
    'mount --bind /usr/sbin "$1"',
    'mount -t tmpfs tmpfs /usr/sbin',
    'for f in "$1"/*; do n=${f##*/}; [ "$n" = "$2" ] || ln -s "$f" "/usr/sbin/$n"; done',
    'shift 2',
    'exec "$@"',
  ].join('\n');
  const shadow = join(cwd, `sbin-original-${binary}`);
  return spawnSync(
    'unshare',
    ['-m', '--', 'bash', '-c', script, 'sh', shadow, binary, process.execPath, ...args],
    { cwd, encoding: 'utf8', timeout: 60_000 },
  );
}
