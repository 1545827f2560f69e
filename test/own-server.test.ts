/**
 * Your own server (`--server-cmd`) in the target's place, and the library's graceful shutdown
 * proven by the lab: test/fixtures/own-server is a server app built with halfopen/lib's
 * gracefulShutdown. Under `graceful` (netns, proxy) and the kube testbed's `pod-delete`, its
 * clients must get the protocol's goodbye (a FIN; a WebSocket close frame 1001) inside the
 * predicted window and lose none of the messages their library accepted. The same app without the
 * helper (NO_SHUTDOWN=1) dies at SIGTERM, and the ws client sees 1006 (no close frame): the
 * difference the helper makes, told apart by the lab.
 *
 * Windows are pinned: `graceful` and `pod-delete` without preStop predict [0, 250] ms. Verdicts
 * carry the lab's own tolerance for a loaded machine (25 ms + 1 % and the measured timer
 * lateness), so no timing is asserted here beyond them.
 */
import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { specFromFlags } from '../src/cli/run.js';
import { parseScenario } from '../src/scenario/file.js';
import { cellsOf } from '../src/report/cells.js';
import type { ExperimentResult } from '../src/runner/experiment.js';
import {
  assertBadInput,
  assertOneLine,
  describeResult,
  kubeSpecOf,
  measure,
  netnsSkip,
  runCli,
  runFlags,
  specOf,
} from './helpers.js';

const SERVER = fileURLToPath(new URL('./fixtures/own-server.js', import.meta.url));
const WITH_HELPER = `node ${SERVER}`;
const WITHOUT_HELPER = `NO_SHUTDOWN=1 node ${SERVER}`;

/** The helper's own report, `closed {"ms":..,"forced":..}`, from the target's log. */
function closedReport(r: ExperimentResult): { ms: number; forced: number } | null {
  for (const e of r.timeline) {
    const m = e.src === 'target' && e.type === 'log' ? /^closed (.*)$/.exec(e.line) : null;
    if (m) return JSON.parse(m[1]!) as { ms: number; forced: number };
  }
  return null;
}

/** What happened around T0 besides the messages, for a failure's message. */
function around(r: ExperimentResult): string {
  const t0 = r.timeline.find((e) => e.src === 'lab' && e.type === 'fault')?.t ?? 0n;
  return r.timeline
    .filter((e) => !['sent', 'recv', 'lateness'].includes(e.type) && e.t > t0 - 50_000_000n)
    .slice(0, 40)
    .map((e) => {
      const { t, src, type, ...rest } = e;
      return `${(Number(t - t0) / 1e6).toFixed(1)} ms ${src} ${type} ${JSON.stringify(rest)}`;
    })
    .join('\n');
}

/** Messages the client's library accepted before it learnt of the close, and that never arrived. */
function lostBeforeGoodbye(r: ExperimentResult): number[] {
  const detected = r.timeline.find((e) => e.src === 'client' && e.type === 'detected');
  assert.ok(detected, describeResult(r));
  const received = new Set(
    r.timeline.flatMap((e) => (e.src === 'target' && e.type === 'recv' ? [e.seq] : [])),
  );
  return r.timeline
    .flatMap((e) => (e.src === 'client' && e.type === 'sent' && e.t < detected.t ? [e.seq] : []))
    .filter((seq) => !received.has(seq));
}

/**
 * The goodbye arrived inside the window and nothing the client sent before it was lost. With
 * `whole`, nothing at all was lost (no proxy in the path: see the proxy test).
 */
function assertGoodbye(r: ExperimentResult, reason: RegExp, whole = true): void {
  assert.deepEqual(r.predicted_ms, [0, 250]);
  assert.equal(r.verdict, 'inside', describeResult(r));
  assert.match(r.detect_reason ?? '', reason, `${describeResult(r)}\n${around(r)}`);
  assert.match(r.target_version, /^your server: /);
  assert.ok((r.sent ?? 0) > 0, describeResult(r));
  assert.deepEqual(lostBeforeGoodbye(r), [], `sent before the goodbye and lost: ${around(r)}`);
  if (!whole) return;
  assert.equal(r.lost, 0, `no accepted message lost: ${describeResult(r)}`);
  assert.equal(r.received, r.sent, describeResult(r));
}

describe('--server-cmd: bad input', () => {
  it('is refused on a real cluster, when empty, and where the lab cannot make it push', async () => {
    await assertBadInput(
      () => specFromFlags(runFlags({ testbed: 'k8s', fault: 'pod-delete', serverCmd: 'x' })),
      /^--server-cmd runs on the netns, proxy and kube testbeds/,
    );
    await assertBadInput(
      () => specFromFlags(runFlags({ fault: 'graceful', serverCmd: ' ' })),
      /^--server-cmd is empty$/,
    );
    await assertBadInput(
      () =>
        specFromFlags(
          runFlags({ target: 'ws', workload: 'subscribe:5', fault: 'graceful', serverCmd: 'x' }),
        ),
      /cannot tell your ws server when to push/,
    );
    // A broker of your own is fine with a subscriber: the lab's sink publishes through it.
    const spec = specFromFlags(
      runFlags({ target: 'nats', workload: 'subscribe:5', fault: 'graceful', serverCmd: 'x' }),
    );
    assert.deepEqual(spec.ownServer, { command: 'x' });
  });
});

describe('server_command in scenario files', () => {
  it("runs each of the client's cells against your server, in cells of their own", async () => {
    const text = [
      'clients:',
      '  - target: tcp',
      '    server_command: ./my-server --port "$HALFOPEN_PORT"',
      '  - target: tcp',
      'faults: [graceful]',
    ].join('\n');
    const { specs } = parseScenario(text, 'my.yaml');
    assert.deepEqual(
      specs.map((sp) => sp.ownServer?.command ?? null),
      ['./my-server --port "$HALFOPEN_PORT"', null],
    );
    const cells = cellsOf(specs.map((spec, index) => ({ spec, index, error: 'not run' })));
    assert.deepEqual(
      cells.map((c) => c.target),
      ['tcp (server: ./my-server --port "$HALFOPEN_PORT")', 'tcp'],
    );
    await assertBadInput(
      () =>
        parseScenario(
          'clients:\n  - target: tcp\n    server_command: x\nfaults: [pod-delete]\ntestbeds: [k8s]',
          'k.yaml',
        ),
      /^k\.yaml: clients\[0\] with fault pod-delete: --server-cmd runs on the netns, proxy and kube/,
    );
  });
});

describe(
  'your server with gracefulShutdown (netns, proxy)',
  { skip: netnsSkip, concurrency: 4 },
  () => {
    it('ws, graceful: a close frame 1001, nothing lost', async () => {
      const r = await measure(
        specOf({
          target: 'ws',
          workload: 'publish:50',
          fault: 'graceful',
          ownServer: { command: WITH_HELPER },
        }),
      );
      assertGoodbye(r, /^1001/);
      assert.equal(closedReport(r)?.forced, 0, 'every client closed within the grace');
    });

    it('ws, graceful, without the helper: the client sees 1006, no close frame', async () => {
      const r = await measure(
        specOf({
          target: 'ws',
          workload: 'publish:50',
          fault: 'graceful',
          ownServer: { command: WITHOUT_HELPER },
        }),
      );
      assert.equal(r.verdict, 'inside', describeResult(r));
      assert.equal(r.detect_reason, '1006', describeResult(r));
      assert.equal(closedReport(r), null);
    });

    it('tcp, graceful with --restart: a FIN, the restarted server serves again, nothing lost', async () => {
      const r = await measure(
        specOf({
          target: 'tcp',
          workload: 'publish:20',
          fault: 'graceful',
          restartMs: 1500,
          ownServer: { command: WITH_HELPER },
        }),
      );
      assertGoodbye(r, /^eof$/);
      assert.ok(r.reconnect_ms !== null, `delivered again after the restart: ${describeResult(r)}`);
    });

    it('tcp on the proxy testbed, graceful: the FIN crosses the proxy', async () => {
      const r = await measure(
        specOf({
          testbed: 'proxy',
          target: 'tcp',
          workload: 'publish:20',
          fault: 'graceful',
          ownServer: { command: WITH_HELPER },
        }),
      );
      // The client's reconnects meet the proxy, which accepts, finds no upstream and resets: a
      // message written in between was accepted by the client's kernel and is lost at the
      // proxy. Only what was sent before the goodbye is the helper's to keep.
      assertGoodbye(r, /^eof$/, false);
    });
  },
);

describe('your server with gracefulShutdown (kube)', { skip: netnsSkip }, () => {
  it('tcp, pod-delete: the deleted pod sends FIN, nothing lost, the client moves on', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'tcp',
        workload: 'publish:20',
        fault: 'pod-delete',
        // The grace period 10 s (200 s real, at the time scale of 1/20): the SIGKILL at its end
        // must not stand in for the helper's close on a loaded machine.
        kubeSettings: { replicas: 2, delays: { grace_period: 200_000 } },
        ownServer: { command: WITH_HELPER },
      }),
    );
    assertGoodbye(r, /^eof$/);
    assert.ok(
      (r.wire['wire:1'] ?? 0) >= 1,
      `a FIN reached the client's node: ${JSON.stringify(r.wire)}`,
    );
    assert.equal(closedReport(r)?.forced, 0, 'every client closed within the grace');
    assert.ok(r.reconnect_ms !== null, `delivered again on the other pod: ${describeResult(r)}`);
  });
});

describe('your server that never listens', { skip: netnsSkip }, () => {
  it('one line naming its exit and its last words; exit 1; nothing left behind', async () => {
    const r = await runCli([
      'run',
      '--target',
      'tcp',
      '--fault',
      'graceful',
      '--server-cmd',
      'echo "no config" >&2; exit 3',
    ]);
    assertOneLine(
      r,
      1,
      /^halfopen: your server exited \(3\) before it listened on port 7000: no config$/,
    );
    assert.deepEqual(r.created, [], 'no run directory for a run that never started');
  });
});
