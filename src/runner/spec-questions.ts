/**
 * What the runner needs to know about an experiment's target, fault and testbed, each asked in
 * one place. The tasks ask these instead of naming a fault or a protocol, so a new fault or
 * protocol changes its own definition and the answers here, never the task code. Each answer
 * depends on the spec alone.
 */
import { CLIENTS, type ClientDef } from '../clients/index.js';
import { PUSHING_TARGETS, type ExperimentSpec, type IdleTimeout } from '../scenario/spec.js';
import { TARGETS, type TargetDef } from '../targets/index.js';
import type { NetnsOptions } from '../testbeds/netns/topology.js';
import type { MetricOptions } from './metrics.js';

/** The target the experiment starts: the lab's own server or a broker binary. */
export function targetOf(spec: ExperimentSpec): TargetDef {
  return TARGETS[spec.target];
}

/** The lab's own client for the target's protocol (and, for brokers, its sink). */
export function clientOf(spec: ExperimentSpec): ClientDef {
  return CLIENTS[spec.target];
}

/**
 * The target to run instead of a broker binary that is not installed, or undefined when a missing
 * binary is fatal. Only the proxy testbed, where nothing needs root, falls back to an embedded
 * broker; on netns the experiment is about the real binary.
 */
export function embeddedStandIn(spec: ExperimentSpec): TargetDef | undefined {
  return spec.testbed === 'proxy' ? TARGETS[spec.target].embedded : undefined;
}

/**
 * What the reconnect is measured from: the heal of a partition, the target's restart, the
 * detection itself for faults that break only the one flow (reset, idle-timeout: a new connection
 * passes at once), or nothing when the path never comes back.
 */
export function reconnectFrom(spec: ExperimentSpec): MetricOptions['reconnectFrom'] {
  if (spec.healMs !== null) return 'heal';
  if (spec.restartMs !== null) return 'restart';
  return spec.fault === 'reset' || spec.fault === 'idle-timeout' ? 'detection' : null;
}

/**
 * May the broker's sink exit during the experiment? ip-reuse takes it down with the lost host;
 * for every other fault its death would spoil the counts, so the run fails instead.
 */
export function sinkMayDie(spec: ExperimentSpec): boolean {
  return spec.fault === 'ip-reuse';
}

/**
 * Does the target itself push to a subscribing client? The lab's own ws, gRPC and HTTP/2 servers
 * do (a broker's sink publishes instead); they start when told, once the client is subscribed.
 */
export function targetPushes(spec: ExperimentSpec): boolean {
  return spec.workload.kind === 'subscribe' && PUSHING_TARGETS.includes(spec.target);
}

/** The QoS reported with the result: MQTT's; null for protocols without one. */
export function qosOf(spec: ExperimentSpec): 0 | 1 | null {
  return spec.target === 'mqtt' ? spec.qos : null;
}

/** How each testbed is built for this experiment (without the run's ids). */
export type TestbedOptions =
  | { testbed: 'netns'; options: Omit<NetnsOptions, 'runId' | 'index'> }
  | {
      testbed: 'proxy';
      options: { latency?: { ms: number; jitterMs: number }; idleTimeout?: IdleTimeout };
    };

/**
 * The testbed the experiment needs, and how: on netns, the client's sysctls, the target's port,
 * a proxy in the router for proxy-dead-upstream and a stateful middlebox for idle-timeout; on the
 * proxy testbed, the latency and idle-timeout toxics' settings.
 */
export function testbedOptions(spec: ExperimentSpec): TestbedOptions {
  switch (spec.testbed) {
    case 'netns':
      return {
        testbed: 'netns',
        options: {
          clientSysctls: spec.sysctls,
          targetPort: TARGETS[spec.target].port,
          proxyInPath: spec.fault === 'proxy-dead-upstream',
          ...(spec.idleTimeout ? { middlebox: spec.idleTimeout } : {}),
        },
      };
    case 'proxy':
      return {
        testbed: 'proxy',
        options: { latency: spec.latency, idleTimeout: spec.idleTimeout },
      };
  }
}
