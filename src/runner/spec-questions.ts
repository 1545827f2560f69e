/**
 * What the runner needs to know about an experiment's target, fault and testbed, each asked of
 * the definitions in one place. The tasks ask these instead of naming a fault or a protocol, so a
 * new fault or protocol changes its own definition, never the task code. Each answer depends on
 * the spec alone.
 */
import { LabError } from '../errors.js';
import { FAULT_DEFS } from '../faults/index.js';
import type {
  FaultImpl,
  K8sFaultImpl,
  KubeFaultImpl,
  NetnsFaultContext,
  ProxyFaultContext,
} from '../faults/types.js';
import { PROTOCOLS, type ProtocolDef, type TargetDef } from '../protocols/index.js';
import type { ExperimentSpec } from '../scenario/spec.js';
import type { NetnsOptions } from '../testbeds/netns/topology.js';
import type { KubeOptions } from '../testbeds/kube/testbed.js';
import { defaultKube, type KubeSettings } from '../core/kube.js';
import type { MetricOptions } from './metrics.js';

/** The target the experiment starts: the lab's own server or a broker binary. */
export function targetOf(spec: ExperimentSpec): TargetDef {
  return PROTOCOLS[spec.target].target;
}

/** The protocol's client, and for brokers the sink beside the target. */
export function clientOf(spec: ExperimentSpec): {
  argv: ProtocolDef['client']['argv'];
  sinkArgv?: NonNullable<ProtocolDef['sink']>['argv'];
  library: string;
} {
  const { client, sink } = PROTOCOLS[spec.target];
  return {
    argv: (args) => client.argv(args),
    library: client.library,
    ...(sink ? { sinkArgv: (args) => sink.argv(args) } : {}),
  };
}

/**
 * The target to run instead of a broker binary that is not installed, or undefined when a missing
 * binary is fatal. Only the proxy testbed, where nothing needs root, falls back to an embedded
 * broker; on netns the experiment is about the real binary.
 */
export function embeddedStandIn(spec: ExperimentSpec): TargetDef | undefined {
  return spec.testbed === 'proxy' ? PROTOCOLS[spec.target].target.embedded : undefined;
}

/**
 * What the reconnect is measured from: the heal of a partition, the target's restart, the
 * detection itself for faults that break only the one flow (a new connection passes at once), or
 * nothing when the path never comes back.
 */
export function reconnectFrom(spec: ExperimentSpec): MetricOptions['reconnectFrom'] {
  if (spec.healMs !== null) return 'heal';
  if (spec.restartMs !== null) return 'restart';
  const def = FAULT_DEFS[spec.fault];
  const kube = clusterImpl(spec);
  return kube?.reconnectFrom !== undefined ? kube.reconnectFrom : def.reconnectFrom;
}

/** The fault's way on a cluster testbed (kube or k8s), where it has its own. */
function clusterImpl(spec: ExperimentSpec): KubeFaultImpl | K8sFaultImpl | undefined {
  const impls = FAULT_DEFS[spec.fault].testbeds;
  return spec.testbed === 'kube' ? impls.kube : spec.testbed === 'k8s' ? impls.k8s : undefined;
}

/**
 * May the broker's sink exit during the experiment? A fault that takes the target's host takes the
 * sink with it; for every other fault its death would spoil the counts, so the run fails instead.
 */
export function sinkMayDie(spec: ExperimentSpec): boolean {
  const def = FAULT_DEFS[spec.fault];
  return clusterImpl(spec)?.takesSink ?? def.takesSink;
}

/**
 * Does the target itself push to a subscribing client? The lab's own ws, gRPC and HTTP/2 servers
 * do (a broker's sink publishes instead); they start when told, once the client is subscribed.
 */
export function targetPushes(spec: ExperimentSpec): boolean {
  return spec.workload.kind === 'subscribe' && PROTOCOLS[spec.target].pushes === 'target';
}

/** The QoS reported with the result: MQTT's; null for protocols without one. */
export function qosOf(spec: ExperimentSpec): 0 | 1 | null {
  return PROTOCOLS[spec.target].qos ? spec.qos : null;
}

/** The kube testbed's settings: the spec's, else the target's default replicas. */
export function kubeOf(spec: ExperimentSpec): KubeSettings {
  return spec.kube ?? defaultKube(PROTOCOLS[spec.target].target.defaultReplicas);
}

/** How each testbed is built for this experiment (without the run's ids). */
export type TestbedOptions =
  | { testbed: 'netns'; options: Omit<NetnsOptions, 'runId' | 'index'> }
  | { testbed: 'proxy'; options: { fault: FaultImpl<ProxyFaultContext> } }
  | { testbed: 'kube'; options: Omit<KubeOptions, 'runId' | 'index'> }
  | {
      testbed: 'k8s';
      options: {
        spec: ExperimentSpec;
        settings: KubeSettings;
        fault: K8sFaultImpl;
        targetPort: number;
      };
    };

/**
 * The testbed the experiment needs, and how: on netns, the client's sysctls, the target's port,
 * and the fault (which may build a middlebox or a proxy into the router); on the proxy testbed,
 * the fault as toxics.
 */
export function testbedOptions(spec: ExperimentSpec): TestbedOptions {
  const impls = FAULT_DEFS[spec.fault].testbeds;
  const missing = (): never => {
    throw new LabError(`fault ${spec.fault} is not available on the ${spec.testbed} testbed`);
  };
  switch (spec.testbed) {
    case 'netns': {
      const fault: FaultImpl<NetnsFaultContext> = impls.netns ?? missing();
      return {
        testbed: 'netns',
        options: {
          clientSysctls: spec.sysctls,
          targetPort: PROTOCOLS[spec.target].target.port,
          fault,
          spec,
        },
      };
    }
    case 'proxy':
      return { testbed: 'proxy', options: { fault: impls.proxy ?? missing() } };
    case 'kube':
      return {
        testbed: 'kube',
        options: {
          clientSysctls: spec.sysctls,
          targetPort: PROTOCOLS[spec.target].target.port,
          service: spec.target,
          settings: kubeOf(spec),
          fault: impls.kube ?? missing(),
          spec,
        },
      };
    case 'k8s':
      return {
        testbed: 'k8s',
        options: {
          targetPort: PROTOCOLS[spec.target].target.port,
          settings: kubeOf(spec),
          fault: impls.k8s ?? missing(),
          spec,
        },
      };
  }
}
