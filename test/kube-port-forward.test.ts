/**
 * port-forward: the client dials a `kubectl port-forward` relay on its pod's loopback, which pins
 * replica 0. First the relay alone, on this host's loopback against a server of the test's own
 * (what kubectl does with EOF, with a stream's error, with SIGTERM); then the three --forward-case
 * runs on the kube testbed (Kubernetes' delays at 1/20 of real, test/helpers.ts kubeSpecOf).
 *
 * Timing tolerances: verdicts are judged against the predicted window with the lab's tolerance;
 * the relay's own steps are waited for by polling with bounds of seconds (a loaded two-core
 * machine), never by fixed sleeps.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { ExperimentResult } from '../src/runner/experiment.js';
import { specFromFlags } from '../src/cli/run.js';
import { FORWARD_CASE } from '../src/faults/port-forward.js';
import {
  assertBadInput,
  describeResult,
  kubeSpecOf,
  measure,
  netnsSkip,
  runFlags,
  waitFor,
} from './helpers.js';
import { kubeEvents } from './kube-results.js';

const RELAY = fileURLToPath(new URL('../src/testbeds/kube/port-forward.js', import.meta.url));

interface RelayRun {
  proc: ChildProcess;
  port: number;
  events: Record<string, unknown>[];
  exit: Promise<number | null>;
}

/** Starts the relay toward `podPort` on loopback; resolves once it listens. */
async function startRelay(podPort: number, t: { after(fn: () => void): void }): Promise<RelayRun> {
  const config = {
    listen: { host: '127.0.0.1', port: 0 },
    pod: { ip: '127.0.0.1', port: podPort },
  };
  const proc = spawn(process.execPath, [RELAY, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => proc.kill('SIGKILL'));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const events: Record<string, unknown>[] = [];
  let rest = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const l of lines) if (l) events.push(JSON.parse(l) as Record<string, unknown>);
  });
  const listening = await waitFor(
    () => events.find((e) => e.type === 'listening'),
    10_000,
    'the relay listens',
  );
  return { proc, port: listening.port as number, events, exit };
}

/** A connection through the relay, and what arrives on it. */
async function dial(port: number): Promise<{ sock: Socket; ended: () => boolean }> {
  const sock = connect({ host: '127.0.0.1', port });
  let ended = false;
  sock.on('end', () => (ended = true));
  sock.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return { sock, ended: () => ended };
}

/** A server standing for the pod: the sockets it accepted, in order. */
async function podServer(t: { after(fn: () => void): void }): Promise<{
  server: Server;
  port: number;
  accepted: Socket[];
}> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    s.on('error', () => undefined);
    accepted.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const at = server.address();
  return { server, port: typeof at === 'object' && at ? at.port : 0, accepted };
}

describe('the port-forward relay, on loopback', () => {
  it("the pod's EOF closes the local connection and the forward stays; a stream's RST ends the forward: later connects are refused", async (t) => {
    const pod = await podServer(t);
    const relay = await startRelay(pod.port, t);
    const a = await dial(relay.port);
    await waitFor(() => pod.accepted.length === 1, 5000, 'the pod accepts the first stream');
    pod.accepted[0]!.end();
    await waitFor(a.ended, 5000, 'EOF reaches the local connection');
    // The forward is still there: a second connection reaches the pod.
    const b = await dial(relay.port);
    await waitFor(() => pod.accepted.length === 2, 5000, 'the pod accepts a second stream');
    const got: Buffer[] = [];
    pod.accepted[1]!.on('data', (d: Buffer) => got.push(d));
    b.sock.write('hello');
    await waitFor(() => Buffer.concat(got).toString() === 'hello', 5000, 'data crosses the relay');
    // An error on a stream: kubectl's "lost connection to pod", the whole forward ends.
    pod.accepted[1]!.resetAndDestroy();
    assert.equal(await relay.exit, 1);
    const stop = relay.events.find((e) => e.type === 'stopping');
    assert.match(String(stop?.signal), /^lost connection to pod: ECONNRESET$/);
    await waitFor(b.ended, 5000, 'the local connection is closed with it');
    await assert.rejects(dial(relay.port), /ECONNREFUSED/, 'later connects are refused');
  });

  it('SIGTERM (the user stops kubectl): it exits at once and the local connection sees EOF', async (t) => {
    const pod = await podServer(t);
    const relay = await startRelay(pod.port, t);
    const a = await dial(relay.port);
    await waitFor(() => pod.accepted.length === 1, 5000, 'the pod accepts the stream');
    relay.proc.kill('SIGTERM');
    await waitFor(a.ended, 5000, 'EOF reaches the local connection');
    assert.equal(await relay.exit, 0);
    await assert.rejects(dial(relay.port), /ECONNREFUSED/);
  });
});

const why = (r: ExperimentResult): string => `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
const forward = (r: ExperimentResult): string[] =>
  kubeEvents(r).filter((l) => l.startsWith('forward '));

describe('kube: port-forward', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp close: kubectl stops, the client sees EOF (or RST) at once and cannot come back', async () => {
    const r = await measure(
      kubeSpecOf({ fault: 'port-forward', strategy: 'none', workload: 'publish:5' }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [0, 250]);
    assert.equal(r.verdict, 'inside', w);
    // kubectl's kernel closes the local connection as it exits: FIN, or RST when a message of the
    // publisher's was still unread in it (seen once on a loaded machine).
    assert.match(r.detect_reason ?? '', /^(eof|ECONNRESET)$/, w);
    // Through the relay to replica 0, wherever the Service would have sent it.
    assert.equal(r.kube!.pod_at_fault, 'tcp-0', w);
    assert.equal(r.kube!.pod_at_stop, null, w);
    assert.equal(r.reconnect_ms, null, w);
    assert.ok(
      forward(r).some((l) => l.includes('kubectl exits (SIGTERM)')),
      w,
    );
    assert.equal(r.lost, 0, w);
  });

  it('tcp pod-delete: the pod closes its socket, the relay passes the EOF on; the next stream is refused and the forward ends', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'port-forward',
        params: { forward_case: 'pod-delete' },
        strategy: 'none',
        workload: 'publish:5',
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [0, 250]);
    assert.equal(r.verdict, 'inside', w);
    assert.equal(r.detect_reason, 'eof', w);
    const f = forward(r);
    assert.ok(
      f.some((l) => l.includes('closed: the pod closed its side (EOF)')),
      w,
    );
    // The client redials within 100 ms; the run stops 500 ms after the detection.
    assert.ok(
      f.some((l) => l.includes('kubectl exits (lost connection to pod: ECONNREFUSED)')),
      w,
    );
    assert.equal(r.reconnect_ms, null, w);
  });

  it("tcp node-loss: the relay's kernel keeps acknowledging; TCP_USER_TIMEOUT never fires", async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'port-forward',
        params: { forward_case: 'node-loss' },
        strategy: 'user-timeout:3s',
        workload: 'publish:5',
        deadlineMs: 6000,
      }),
    );
    const w = why(r);
    assert.equal(r.predicted_ms, null);
    assert.equal(r.verdict, 'not detected (as predicted)', w);
    // Twice the user timeout passed with the client publishing all along.
    assert.ok((r.stale_sent ?? 0) >= 20, w);
    const dropped = Object.entries(r.wire).filter(([k]) => k.startsWith('node-loss-1:'));
    assert.ok(
      dropped.some(([, v]) => v > 0),
      `the relay's stream died in the fabric: ${w}`,
    );
    assert.ok(!forward(r).some((l) => l.includes('kubectl exits')), w);
  });

  it("nats node-loss (the seed's settings): only the pings notice; the forward is not back", async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'port-forward',
        params: { forward_case: 'node-loss' },
        strategy: 'nats:ping=5s,maxout=2',
        workload: 'publish:1',
        deadlineMs: 20_000,
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [10_000, 15_000]);
    assert.equal(r.verdict, 'inside', w);
    assert.equal(r.detect_reason, 'stale-connection', w);
    assert.equal(r.kube!.pod_at_fault, 'nats-0', w);
    assert.equal(r.reconnect_ms, null, w);
  });

  it("nats close (the seed's demo): the client notices at once", async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'port-forward',
        strategy: 'nats:ping=5s,maxout=2',
        workload: 'publish:1',
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [0, 250]);
    assert.equal(r.verdict, 'inside', w);
    assert.equal(r.reconnect_ms, null, w);
  });
});

describe('port-forward: bad input', () => {
  it('--forward-case takes one of its cases, and only on port-forward', async () => {
    const kube = { testbed: 'kube', fault: 'port-forward' };
    await assertBadInput(
      () => specFromFlags(runFlags({ ...kube, forwardCase: 'sideways' })),
      /^--forward-case 'sideways' is unknown \(expected one of: close, pod-delete, node-loss\)$/,
    );
    await assertBadInput(
      () =>
        specFromFlags(
          runFlags({ testbed: 'kube', fault: 'statefulset-replace', forwardCase: 'close' }),
        ),
      /^--forward-case applies to the port-forward fault only \(fault is statefulset-replace\)$/,
    );
    await assertBadInput(
      () => specFromFlags(runFlags({ ...kube, sameIp: true })),
      /^--same-ip applies to the statefulset-replace fault only/,
    );
    assert.equal(FORWARD_CASE.read(specFromFlags(runFlags(kube))), 'close');
    const spec = specFromFlags(runFlags({ ...kube, forwardCase: 'node-loss' }));
    assert.equal(FORWARD_CASE.read(spec), 'node-loss');
  });
});
