/**
 * `kubectl port-forward`: the client dials a relay on its own loopback, which pins one pod (no
 * failover, even for `svc/x`) and opens a stream to it per local connection. The relay
 * (testbeds/kube/port-forward.ts) runs in the client's pod. Three ways the forward breaks:
 *   close       the user stops kubectl: its kernel closes the local connections (FIN) at once;
 *   pod-delete  the pinned pod is deleted: it closes its socket, the relay closes the local one;
 *   node-loss   the pinned pod's node is lost: the relay's kernel keeps acknowledging the client,
 *               so only what crosses end to end (application heartbeats) can notice.
 * After it, the forward is gone (or ends at the next stream's error): connects are refused.
 */
import { endpointLater, nodeLifecycle, stopPod } from './kube.js';
import { choiceParam } from './params.js';
import { answeredByProxy, immediate, silentPathPrediction } from './paths.js';
import { podDelete } from './pod-delete.js';
import { count } from './shared.js';
import type { ClusterControl, FaultDef, KubeControl, KubeFaultContext } from './types.js';
import { apiFault, CLUSTER_WIRE } from './k8s.js';
import { PROTOCOLS } from '../protocols/index.js';
import type { FaultSpec } from './spec.js';
import type { Prediction } from '../core/window.js';
import type { LabProcess } from '../core/process.js';
import { BadInputError, LabError } from '../errors.js';
import { fileURLToPath } from 'node:url';
import { within } from '../util/clock.js';
import { onLines } from '../util/lines.js';

export const FORWARD_CASE = choiceParam(
  'forward_case',
  ['close', 'pod-delete', 'node-loss'],
  'how the port-forward breaks: the user stops kubectl, the pinned pod is deleted, or its node is lost',
  'close',
);

/** A relay started by `prepare`, found again by `apply` (by the client pod's address). */
interface Relay {
  proc: LabProcess;
  pod: string;
  /** Marks the relay's events on the timeline, once the fault is bound (null while building). */
  mark: ((change: string) => void) | null;
}
const relays = new Map<string, Relay>();

/** The relay's own words, as a Kubernetes `forward` event says them. */
function relayChange(e: Record<string, unknown>): string | null {
  const remote = e.remote as { address: string; port: number } | undefined;
  const local = remote ? `${remote.address}:${remote.port}` : '';
  switch (e.type) {
    case 'accepted':
      return `local connection from ${local}: a new stream to the pod`;
    case 'conn_closed':
      return `local connection from ${local} closed: ${String(e.reason)}`;
    case 'stopping':
      return `kubectl exits (${String(e.signal)}): its listener and local connections close`;
    case 'fatal':
      return `kubectl failed: ${String(e.error)}`;
    default:
      return null;
  }
}

async function startRelay(kube: KubeControl): Promise<{ host: string; port: number }> {
  const pod = kube.pods()[0];
  if (!pod) throw new LabError('internal: no pod to forward to');
  const listen = { host: '127.0.0.1', port: kube.targetPort };
  const config = { listen, pod: { ip: pod.ip, port: kube.targetPort } };
  const entry = fileURLToPath(new URL('../testbeds/kube/port-forward.js', import.meta.url));
  const proc = kube.spawnInClientPod(
    [process.execPath, entry, JSON.stringify(config)],
    `kubectl port-forward pod/${pod.name}`,
  );
  const relay: Relay = { proc, pod: pod.name, mark: null };
  relays.set(kube.clientIp, relay);
  void proc.exited.then(() => {
    if (relays.get(kube.clientIp) === relay) relays.delete(kube.clientIp);
  });
  let ready = false;
  const listening = new Promise<void>((resolve) =>
    onLines(proc.stdout, (line) => {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (e.type === 'listening') {
        ready = true;
        resolve();
      }
      const change = relayChange(e);
      if (change) relay.mark?.(change);
    }),
  );
  await within(Promise.race([listening, proc.exited]), 10_000);
  if (!ready)
    throw new LabError(`the port-forward relay did not start: ${proc.stderrTail().trim()}`);
  return listen;
}

type ForwardCase = ReturnType<typeof FORWARD_CASE.read>;

/** Each way the forward breaks: what the lab does at T0 (`start` marks T0), and its window. */
const CASES: Record<
  ForwardCase,
  {
    act(ctx: KubeFaultContext, relay: Relay, start: () => void): Promise<void>;
    predict(spec: FaultSpec): Prediction;
  }
> = {
  close: {
    async act({ kube }, relay, start) {
      start();
      kube.event('forward', `pod/${relay.pod}`, 'the user stops kubectl (SIGTERM)');
      relay.proc.kill('SIGTERM');
      await within(relay.proc.exited, 5000);
    },
    predict: () => immediate("kubectl's kernel closes the local connections (FIN) as it exits"),
  },
  'pod-delete': {
    // As the pod-delete fault: preStop, SIGTERM while the endpoint turns terminating, SIGKILL.
    async act({ kube, flowPod }, _relay, start) {
      const pod = flowPod.name;
      start();
      kube.event('pod', pod, 'deleted (Terminating)');
      endpointLater(kube, pod, 'terminating');
      await stopPod(kube, pod, {
        preStopMs: kube.delay('prestop'),
        graceMs: kube.delay('grace_period'),
      });
    },
    predict(spec) {
      const p = podDelete.predict(spec);
      return { ...p, why: `${p.why}; the relay passes the EOF on as FIN at once` };
    },
  },
  'node-loss': {
    async act({ kube, flowPod }, _relay, start) {
      const armed = await kube.armNodeLoss(flowPod.node);
      start();
      await armed.commit();
      await kube.killNode(flowPod.node);
      nodeLifecycle(kube, flowPod.node);
    },
    predict: (spec) =>
      answeredByProxy(spec.strategy)
        ? {
            window: null,
            why: "kubectl's own kernel acknowledges the client's data and keepalive probes while the pod's node is gone, so only an application heartbeat notices",
          }
        : silentPathPrediction(spec),
  },
};

/** The cases a real cluster can make: no API call loses a node. */
const ON_CLUSTER: readonly ForwardCase[] = ['close', 'pod-delete'];

/** The real kubectl's forward on a real cluster, started by `prepare`, found by `apply`. */
const forwards = new WeakMap<ClusterControl, { proc: LabProcess; pod: string }>();

/** How long kubectl may take to say it forwards. */
const KUBECTL_READY_MS = 30_000;

/**
 * `kubectl port-forward pod/<replica 0> :<port>` in the driver's pod (its ServiceAccount's token,
 * in-cluster): kubectl picks the local port and says which ("Forwarding from 127.0.0.1:N -> P").
 */
async function startKubectl(
  cluster: ClusterControl,
  spec: FaultSpec,
): Promise<{ host: string; port: number }> {
  const pod = cluster.pods()[0];
  if (!pod) throw new LabError('port-forward: the target has no pod to forward to');
  const remote = PROTOCOLS[spec.target].target.port;
  const proc = cluster.spawnInDriver(
    ['kubectl', 'port-forward', '--namespace', cluster.namespace, `pod/${pod.name}`, `:${remote}`],
    'kubectl port-forward',
  );
  const port = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), KUBECTL_READY_MS);
    onLines(proc.stdout, (line) => {
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void proc.exited.then(() => resolve(null));
  });
  if (port === null)
    throw new LabError(
      `kubectl port-forward to ${pod.name} did not start: ${proc.stderrTail().trim().split('\n').pop() ?? 'no output'}`,
    );
  forwards.set(cluster, { proc, pod: pod.name });
  cluster.event(
    'forward',
    `pod/${pod.name}`,
    `kubectl forwards 127.0.0.1:${port} to ${pod.name}:${remote}`,
  );
  return { host: '127.0.0.1', port };
}

export const portForward: FaultDef = {
  summary:
    'kube: the client reaches one pod through `kubectl port-forward` on its loopback; it breaks by --forward-case: kubectl stopped (FIN), the pod deleted (EOF, FIN), or its node lost (the relay keeps acknowledging: only heartbeats notice)',
  params: [FORWARD_CASE],
  testbeds: {
    kube: {
      prepare: (kube) => startRelay(kube),
      // An advertising NATS cluster would hand the client the pods' own addresses, past kubectl.
      validate(spec) {
        if (spec.kube?.advertise)
          throw new BadInputError(
            "port-forward with --advertise yes: the client would learn the pods' addresses and bypass the forward; use --advertise no",
          );
      },
      async apply(ctx) {
        const { kube } = ctx;
        const relay = relays.get(kube.clientIp);
        if (!relay) throw new LabError('internal: the port-forward relay is gone');
        relay.mark = (change) => kube.event('forward', `pod/${relay.pod}`, change);
        const how = FORWARD_CASE.read(ctx.spec);
        const mark = (phase: 'start' | 'applied'): void =>
          ctx.mark({ type: 'fault', name: 'port-forward', phase, detail: how });
        await CASES[how].act(ctx, relay, () => mark('start'));
        mark('applied');
      },
      // The forward is gone, or ends at the next stream's error: connects are refused.
      reconnectFrom: null,
      describe: ({ wire }) => {
        const dropped = Object.entries(wire)
          .filter(([k]) => k.startsWith('node-loss-'))
          .reduce((a, [, v]) => a + v, 0);
        return `the relay's stream to the pod: ${count(wire, 'wire:3')} FIN from the relay, ${count(wire, 'wire:1')} FIN and ${count(wire, 'wire:0')} RST from the pod; the fabric dropped ${dropped} packets to and from a lost node`;
      },
    },
    k8s: {
      validate(spec) {
        if (!ON_CLUSTER.includes(FORWARD_CASE.read(spec)))
          throw new BadInputError(
            "--forward-case node-loss needs the kube testbed; on a real cluster no API call loses a node (node-loss --hook '<command>' does, without a forward)",
          );
        if (spec.kube?.advertise)
          throw new BadInputError(
            "port-forward with --advertise yes: the client would learn the pods' addresses and bypass the forward; use --advertise no",
          );
      },
      prepare: startKubectl,
      apply: (ctx) => {
        const forward = forwards.get(ctx.cluster);
        if (!forward) throw new LabError('internal: the kubectl port-forward is gone');
        const how = FORWARD_CASE.read(ctx.spec);
        return apiFault('port-forward', async ({ cluster }) => {
          if (how === 'close') {
            cluster.event('forward', `pod/${forward.pod}`, 'the user stops kubectl (SIGTERM)');
            forward.proc.kill('SIGTERM');
            await within(forward.proc.exited, 5000);
          } else await cluster.deletePod(forward.pod);
        })(ctx);
      },
      inForceAfterMs: null,
      reconnectFrom: null,
      takesSink: true,
      describe: () => CLUSTER_WIRE,
    },
  },
  reconnectFrom: null,
  // pod-delete and node-loss take the pinned pod's sink with it.
  takesSink: true,
  peerAlive: false,
  predict: (spec) => CASES[FORWARD_CASE.read(spec)].predict(spec),
};
