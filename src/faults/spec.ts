/**
 * The plain, serializable description of one experiment, except which fault it is: the fields a
 * fault's definition reads (the full spec, with the fault's name, is scenario/spec.ts).
 */
import type { TargetName } from '../protocols/index.js';
import type { Strategy } from '../strategies/index.js';
import type { Workload } from '../core/workload.js';
import type { KubeSettings } from '../core/kube.js';

export const TESTBEDS = ['netns', 'proxy', 'kube', 'k8s'] as const;
export type TestbedName = (typeof TESTBEDS)[number];

/**
 * What a middlebox does with the next packet of a flow it has forgotten: drop it silently (Azure
 * Load Balancer by default) or answer it with RST (AWS NLB, Azure with TCP reset enabled).
 */
export const EXPIRY_ACTIONS = ['drop', 'reset'] as const;
export type ExpiryAction = (typeof EXPIRY_ACTIONS)[number];

/** The idle-timeout fault: a flow idle this long is forgotten; its next packet meets `onExpiry`. */
export interface IdleTimeout {
  ms: number;
  onExpiry: ExpiryAction;
}

/**
 * Your own client program instead of the lab's (`--client-cmd`): a shell command run in the
 * client namespace. Detection is read from the kernel (and from its output with `detectLog`).
 */
export interface OwnClient {
  command: string;
  /** A line of the program's output matching this (a JavaScript regex) is a detection too. */
  detectLog: string | null;
  /** The user described the program's settings with --strategy: predict from them. */
  declared: boolean;
}

/**
 * Your own server in the target's place (`--server-cmd`): a shell command run where the target
 * runs (the server namespace, each pod), told where to listen by HALFOPEN_HOST and HALFOPEN_PORT.
 * It is ready once its listening socket shows in the kernel's table; a `recv <seq>` line of its
 * output is a delivery.
 */
export interface OwnServer {
  command: string;
}

/** What a run reports as its target when it is your server: `your server: <command>`. */
export const OWN_SERVER = 'your server: ';
export const ownServerVersion = (own: OwnServer): string => `${OWN_SERVER}${own.command}`;

/** The fields fault parameters fill; each fault's definition says which it takes. */
export interface FaultFields {
  /** partition only: remove the drop this long after T0. */
  healMs: number | null;
  /** graceful, kill, node-loss: start the target again this long after T0. */
  restartMs: number | null;
  /** latency only: the delay added each way, and its jitter (+-). */
  latency?: { ms: number; jitterMs: number };
  /** idle-timeout only: how long a flow may be idle before the middlebox forgets it. */
  idleTimeout?: IdleTimeout;
  /**
   * Any other fault's own parameters, by their key (`endpoint_lag`: milliseconds), so that a new
   * fault keeps its parameters in its own file (params.ts `durationParam`).
   */
  params?: Record<string, number | string>;
}

export interface FaultSpec extends FaultFields {
  testbed: TestbedName;
  target: TargetName;
  /** Set: the client is the user's program, and `strategy` what they say it does. */
  own?: OwnClient;
  /** Set: the target is the user's server program. */
  ownServer?: OwnServer;
  strategy: Strategy;
  workload: Workload;
  /** MQTT quality of service for publish and subscribe (0 elsewhere). */
  qos: 0 | 1;
  /** How long after T0 detection may take before it counts as "not detected". */
  deadlineMs: number;
  /** Time between the client's first connection and the fault, so the flow is in steady state. */
  warmupMs: number;
  /** net.ipv4.* sysctls for the client namespace. */
  sysctls: Record<string, number>;
  /** The kube testbed's cluster: replicas, Service form, control-plane delays. */
  kube?: KubeSettings;
}
