/**
 * endpoint-removed on the kube testbed: the pod's readiness fails, kube-proxy drops its endpoint
 * from the Service's rules, and the pod runs on. The client's established connection must go on
 * delivering to the same pod (conntrack), and a NEW connection made after kube-proxy's sync must
 * not be steered to it: the test opens probe connections from the client's pod to the ClusterIP
 * (`ip netns exec`, while the experiment runs) and reads where the DNAT counters put them.
 *
 * Timing: Kubernetes delays at 1/20 of real (endpoint lag 50 ms). Nothing is detected, so each
 * experiment runs to its deadline (3-4 s); the probes wait for kube-proxy's rules by polling them,
 * with bounds for a loaded two-core machine (they are not measurements).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runExperiment, type ExperimentResult } from '../src/runner/experiment.js';
import type { ExperimentSpec } from '../src/scenario/spec.js';
import { kubeNs } from '../src/testbeds/kube/wire.js';
import {
  assertBadInput,
  assertNoLabNamespaces,
  describeResult,
  kubeSpecOf,
  labIds,
  netnsSkip,
  specOf,
  waitFor,
} from './helpers.js';
import { eventAt, kubeEvents } from './kube-results.js';

const exec = promisify(execFile);

/** The Service's balancing chain's jumps (one per steered endpoint) and its ClusterIP:port. */
async function service(node: string): Promise<{ jumps: number; vip: string; port: string } | null> {
  const nat = await exec('ip', ['netns', 'exec', node, 'iptables', '-t', 'nat', '-S']).catch(
    () => null,
  );
  if (!nat) return null;
  const lines = nat.stdout.split('\n');
  const hook = lines
    .map((l) => /^-A KUBE-SERVICES -d (\S+)\/32 -p tcp -m tcp --dport (\d+)/.exec(l))
    .find((m) => m !== null);
  if (!hook) return null;
  const jumps = lines.filter((l) => /^-A KUBE-SVC-\S+ .*-j KUBE-SEP-/.test(l)).length;
  return { jumps, vip: hook[1]!, port: hook[2]! };
}

/** Opens `n` connections one after another from the client's pod; each 'ok' or its error code. */
const PROBE = `
const net = require('node:net');
const [host, port, n] = process.argv.slice(1);
(async () => {
  const out = [];
  for (let i = 0; i < Number(n); i++)
    out.push(await new Promise((done) => {
      const s = net.connect({ host, port: Number(port), timeout: 2000 });
      s.on('connect', () => { s.destroy(); done('ok'); });
      s.on('timeout', () => { s.destroy(); done('timeout'); });
      s.on('error', (e) => done(e.code ?? e.message));
    }));
  console.log(JSON.stringify(out));
})();`;

/**
 * Runs the experiment and, once kube-proxy has dropped the endpoint (its chain has one jump fewer
 * than at the fault), opens `probes` new connections to the ClusterIP from the client's pod.
 */
async function measureWithProbes(
  spec: ExperimentSpec,
  probes: number,
): Promise<{ r: ExperimentResult; outcomes: string[] }> {
  const ids = labIds();
  const node = kubeNs(ids.runId, ids.index, 'node00');
  const client = kubeNs(ids.runId, ids.index, 'client');
  let applying = false;
  const run = runExperiment(spec, {
    ...ids,
    onProgress: (s) => void (s.startsWith('applying') && (applying = true)),
  });
  const probing = (async () => {
    await waitFor(() => applying, 20_000, 'the fault is applied');
    const before = spec.kube!.replicas;
    const svc = await waitFor(
      async () => {
        const s = await service(node);
        return s && s.jumps === before - 1 ? s : null;
      },
      2000,
      "kube-proxy's rules drop the endpoint",
    );
    const { stdout } = await exec('ip', [
      'netns',
      'exec',
      client,
      process.execPath,
      '-e',
      PROBE,
      svc.vip,
      svc.port,
      String(probes),
    ]);
    return JSON.parse(stdout) as string[];
  })();
  // Both settle before any assertion, so a failed probe never leaves the run behind.
  const [r, outcomes] = await Promise.allSettled([run, probing]);
  await assertNoLabNamespaces(ids.runId);
  if (r.status === 'rejected') throw r.reason;
  if (outcomes.status === 'rejected') throw outcomes.reason;
  return { r: r.value, outcomes: outcomes.value };
}

/** How many connections the client itself opened (its `connected` events). */
const clientConnections = (r: ExperimentResult): number =>
  r.timeline.filter((e) => e.src === 'client' && e.type === 'connected').length;

/** The connections each pod was given (`dnat-<pod>:0`), by pod. */
const dnat = (r: ExperimentResult): Record<string, number> =>
  Object.fromEntries(
    Object.entries(r.wire)
      .filter(([k]) => k.startsWith('dnat-'))
      .map(([k, v]) => [k.slice(5, -2), v]),
  );

const PROBES = 6;

describe('kube: endpoint-removed', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp: the established flow stays on the pod; new connections go to the others', async () => {
    const { r, outcomes } = await measureWithProbes(
      kubeSpecOf({
        fault: 'endpoint-removed',
        strategy: 'none',
        workload: 'publish:5',
        deadlineMs: 3000,
      }),
      PROBES,
    );
    const why = `${describeResult(r)}; probes ${outcomes.join(',')}; ${JSON.stringify(r.wire)}; ${kubeEvents(r).join(' | ')}`;
    assert.equal(r.predicted_ms, null);
    assert.equal(r.detect_ms, null, why);
    assert.equal(r.verdict, 'not detected (as predicted)', why);
    const pod = r.kube!.pod_at_fault!;
    assert.equal(r.kube!.pod_at_stop, pod, why);
    assert.ok(eventAt(r, new RegExp(`endpoint ${pod}: not-ready`)) >= 50, why);
    // Every message of the run reached the pod that left the Service.
    assert.ok((r.sent ?? 0) >= 10, why);
    assert.equal(r.lost, 0, why);
    // No RST reached the client's pod, and the only FINs were the probes' (each closed once).
    assert.equal(r.wire['wire:0'] ?? 0, 0, `no RST: ${why}`);
    assert.equal(r.wire['wire:1'] ?? 0, PROBES, `FINs: ${why}`);
    // The probes all connected, none of them to the removed pod.
    assert.deepEqual(outcomes, Array<string>(PROBES).fill('ok'), why);
    const given = dnat(r);
    assert.equal(given[pod], clientConnections(r), why);
    const others = Object.entries(given).filter(([p]) => p !== pod);
    assert.equal(
      others.reduce((n, [, v]) => n + v, 0),
      PROBES,
      why,
    );
  });

  it("nats (3 replicas): the client's pings keep being answered by the removed pod; new connections go elsewhere", async () => {
    const { r, outcomes } = await measureWithProbes(
      kubeSpecOf({
        target: 'nats',
        fault: 'endpoint-removed',
        // Pings every second: three or more cross the removed endpoint before the deadline.
        strategy: 'nats:ping=1s,maxout=2',
        workload: 'publish:5',
        deadlineMs: 4000,
      }),
      PROBES,
    );
    const why = `${describeResult(r)}; probes ${outcomes.join(',')}; ${JSON.stringify(r.wire)}; ${kubeEvents(r).join(' | ')}`;
    assert.equal(r.detect_ms, null, why);
    assert.equal(r.false_disconnects, 0, why);
    const pod = r.kube!.pod_at_fault!;
    assert.match(pod, /^nats-[0-2]$/);
    assert.equal(r.kube!.pod_at_stop, pod, why);
    assert.ok((r.sent ?? 0) >= 15, why);
    assert.equal(r.lost, 0, why);
    assert.deepEqual(outcomes, Array<string>(PROBES).fill('ok'), why);
    const given = dnat(r);
    assert.equal(given[pod], clientConnections(r), why);
    assert.equal(
      Object.entries(given)
        .filter(([p]) => p !== pod)
        .reduce((n, [, v]) => n + v, 0),
      PROBES,
      why,
    );
  });

  it('tcp, one replica: no endpoint is left, new connections are rejected, the old one delivers on', async () => {
    const { r, outcomes } = await measureWithProbes(
      kubeSpecOf({
        fault: 'endpoint-removed',
        strategy: 'none',
        workload: 'publish:5',
        deadlineMs: 3000,
        kubeSettings: { replicas: 1 },
      }),
      3,
    );
    const why = `${describeResult(r)}; probes ${outcomes.join(',')}; ${JSON.stringify(r.wire)}`;
    assert.equal(r.detect_ms, null, why);
    assert.equal(r.kube!.pod_at_stop, 'tcp-0', why);
    assert.equal(r.lost, 0, why);
    // kube-proxy's REJECT (icmp-port-unreachable) is ECONNREFUSED to the caller.
    assert.deepEqual(outcomes, ['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED'], why);
    assert.equal(r.wire['svc-no-endpoints:0'], 3, why);
    assert.equal(dnat(r)['tcp-0'], clientConnections(r), why);
  });
});

describe('endpoint-removed: bad input', () => {
  it('needs the ClusterIP (headless, kube-proxy is not on the path) and the kube testbed', async () => {
    await assertBadInput(
      () => kubeSpecOf({ fault: 'endpoint-removed', kubeSettings: { service: 'headless' } }),
      /endpoint-removed .*--service headless.*use --service cluster-ip/,
    );
    await assertBadInput(
      () => specOf({ fault: 'endpoint-removed' }),
      /fault endpoint-removed is not available on the netns testbed.*needs --testbed kube/,
    );
  });
});
