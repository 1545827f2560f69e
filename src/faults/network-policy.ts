/**
 * A deny-all NetworkPolicy between the client's pod and the Service's pods, applied while the
 * client is connected. Kubernetes leaves its effect on open connections to the CNI:
 *
 *   new   (Calico, Antrea, kube-network-policies): only new connections are judged; the open flow
 *         goes on, while a new connection's SYN is dropped (CNIs drop, not reject).
 *   every (OVN-Kubernetes): every packet is judged: the open flow goes silent, both ways.
 *
 * Made as the policy's rules on the client's node, committed at T0; then a new connection from
 * the client's pod is tried once, to show what a client that reconnects would meet.
 */
import { silentPathPrediction } from './paths.js';
import { apiFault, CLUSTER_WIRE } from './k8s.js';
import { BadInputError } from '../errors.js';
import { choiceParam } from './params.js';
import type { FaultSpec } from './spec.js';
import type { FaultDef, KubeFaultContext, WireView } from './types.js';
import type { Prediction } from '../core/window.js';

const NAME = 'network-policy';

/**
 * On a real cluster: how long the CNI may take to program the policy, plus a sink's log delivery.
 * A message that still crosses later, before the client noticed anything, says the policy does not
 * touch the open connection (Calico, Antrea, kube-network-policies).
 */
export const POLICY_IN_FORCE_MS = 5000;

export const POLICY = choiceParam(
  'policy',
  ['new', 'every'],
  'how the CNI enforces the policy: new judges new connections only (Calico, Antrea, kube-network-policies: the open flow goes on), every judges every packet (OVN-Kubernetes: the open flow goes silent)',
  'new',
);

/** How long the trial connection after T0 waits for an answer (a SYN's first retransmission is at 1 s). */
const TRIAL_S = 1;

/**
 * The policy's rules, two per pod: even ones drop what goes from the client to a pod, odd ones
 * what comes back; under `new` only packets that open a connection.
 */
function policyRules(ctx: KubeFaultContext): string[] {
  const c = `${ctx.kube.clientIp}/32`;
  const only = POLICY.read(ctx.spec) === 'new' ? ' -m conntrack --ctstate NEW' : '';
  return ctx.kube
    .pods()
    .flatMap((p) => [
      `FORWARD -s ${c} -d ${p.ip}/32${only} -j DROP`,
      `FORWARD -s ${p.ip}/32 -d ${c}${only} -j DROP`,
    ]);
}

/** Connects to argv host and port; exit 0 connected, 1 failed, 124 no answer within argv ms. */
const TRIAL_SCRIPT = [
  'const [host, port, ms] = process.argv.slice(1);',
  "const s = require('node:net').connect(Number(port), host, () => process.exit(0));",
  's.on("error", () => process.exit(1));',
  'setTimeout(() => process.exit(124), Number(ms));',
].join('\n');

/** One new connection from the client's pod to where its flow goes: answered or not. */
function tryNewConnection(ctx: KubeFaultContext): void {
  const { kube, flow } = ctx;
  void kube.later(0, 'a new connection through the policy', async () => {
    // Node itself, given the address as arguments: exit 0 connected, 1 refused, 124 no answer.
    const proc = kube.spawnInClientPod(
      [
        process.execPath,
        '-e',
        TRIAL_SCRIPT,
        flow.server.address,
        String(flow.server.port),
        String(TRIAL_S * 1000),
      ],
      'a trial connection',
    );
    const code = await proc.exited;
    kube.event(
      'policy',
      'deny-all',
      code === 124
        ? `a new connection from the client's pod to ${flow.server.address}:${flow.server.port}: no answer in ${TRIAL_S}s (its SYN dropped)`
        : `a new connection from the client's pod to ${flow.server.address}:${flow.server.port}: ${code === 0 ? 'established' : `failed (exit ${code})`}`,
    );
  });
}

/** The counters of the policy's rules, summed by direction. */
function dropped({ wire }: WireView): { toPods: number; toClient: number } {
  let toPods = 0;
  let toClient = 0;
  for (const [k, v] of Object.entries(wire)) {
    const m = new RegExp(`^${NAME}:(\\d+)$`).exec(k);
    if (m) {
      if (Number(m[1]) % 2 === 0) toPods += v;
      else toClient += v;
    }
  }
  return { toPods, toClient };
}

function predict(spec: FaultSpec): Prediction {
  if (POLICY.read(spec) === 'every') {
    const silent = silentPathPrediction(spec);
    return {
      window: silent.window,
      why: `the CNI judges every packet: the open flow goes silent both ways; ${silent.why}`,
    };
  }
  return {
    window: null,
    why: 'the CNI judges new connections only: the open flow goes on (peer and path are fine for it), so nothing is detected; a client that reconnected could not (its SYN is dropped)',
  };
}

export const networkPolicy: FaultDef = {
  summary:
    'kube: a deny-all NetworkPolicy between the client and the pods; --policy new (Calico, Antrea) drops new connections only, every (OVN-Kubernetes) every packet: the open flow goes silent',
  params: [POLICY],
  testbeds: {
    kube: {
      tools: ['timeout', 'bash'],
      async apply(ctx) {
        const armed = await ctx.kube.armRules('client-node', NAME, policyRules(ctx));
        ctx.mark({ type: 'fault', name: NAME, phase: 'start' });
        await armed.commit();
        ctx.mark({ type: 'fault', name: NAME, phase: 'applied' });
        ctx.kube.event(
          'policy',
          'deny-all',
          `created between the client's pod and the Service's pods (judged on ${POLICY.read(ctx.spec) === 'new' ? 'new connections only' : 'every packet'})`,
        );
        tryNewConnection(ctx);
      },
      describe: (view) => {
        const { toPods, toClient } = dropped(view);
        return `the policy dropped ${toPods} packets from the client toward the pods and ${toClient} toward the client`;
      },
    },
    k8s: {
      // The cluster's CNI decides how the policy is enforced: --policy describes only the lab's.
      validate(spec) {
        // Whether the policy is in force is read from messages still crossing: an idle client
        // sends none, and a CNI that leaves open flows alone would look like a miss.
        if (spec.workload.kind === 'idle')
          throw new BadInputError(
            'network-policy on a real cluster needs messages crossing to tell whether the policy is in force: give --workload publish:<rate> or subscribe:<rate>',
          );
        if (POLICY.given(spec))
          throw new BadInputError(
            "--policy describes the kube testbed's CNI; on a real cluster, its CNI decides (a policy it does not enforce on open connections gives the verdict 'fault not in force')",
          );
      },
      apply: apiFault(NAME, (ctx) => ctx.cluster.denyAll()),
      inForceAfterMs: POLICY_IN_FORCE_MS,
      deniesAll: true,
      // If it cuts the flow, the verdict is judged as for a CNI that judges every packet.
      predict: (spec) => predict({ ...spec, params: { ...spec.params, policy: 'every' } }),
      describe: () => CLUSTER_WIRE,
    },
  },
  // The policy stays: no connection of the client's reaches a pod again.
  reconnectFrom: null,
  takesSink: false,
  peerAlive: false,
  predict,
};
