/**
 * The faults, one file each, registered here. A fault's name is a key of this map; the CLI,
 * scenario files, testbeds, predictions and reports all ask its definition.
 */
import type { TestbedName } from './spec.js';
import { conntrackLost } from './conntrack-lost.js';
import { graceful } from './graceful.js';
import { endpointRemoved } from './endpoint-removed.js';
import { idleTimeout } from './idle-timeout.js';
import { ipReuse } from './ip-reuse.js';
import { kill } from './kill.js';
import { latency } from './latency.js';
import { networkPolicy } from './network-policy.js';
import { nodeDrain } from './node-drain.js';
import { nodeLoss } from './node-loss.js';
import type { FaultParam } from './params.js';
import { partition } from './partition.js';
import { podDelete } from './pod-delete.js';
import { podForceDelete } from './pod-force-delete.js';
import { portForward } from './port-forward.js';
import { proxyDeadUpstream } from './proxy-dead-upstream.js';
import { reset } from './reset.js';
import { rollout } from './rollout.js';
import { statefulsetReplace } from './statefulset-replace.js';
import type { FaultDef } from './types.js';

export const FAULT_DEFS = {
  graceful,
  kill,
  'node-loss': nodeLoss,
  partition,
  reset,
  'ip-reuse': ipReuse,
  'proxy-dead-upstream': proxyDeadUpstream,
  latency,
  'idle-timeout': idleTimeout,
  'pod-delete': podDelete,
  'pod-force-delete': podForceDelete,
  'endpoint-removed': endpointRemoved,
  'conntrack-lost': conntrackLost,
  'statefulset-replace': statefulsetReplace,
  'port-forward': portForward,
  'network-policy': networkPolicy,
  rollout,
  'node-drain': nodeDrain,
} as const satisfies Record<string, FaultDef>;

export type FaultName = keyof typeof FAULT_DEFS;
export const FAULTS = Object.keys(FAULT_DEFS) as FaultName[];

/** The faults a testbed can put on the path. */
export const faultsOn = (testbed: TestbedName): FaultName[] =>
  FAULTS.filter((f) => FAULT_DEFS[f].testbeds[testbed] !== undefined);

/** The faults that take a parameter. */
export const faultsTaking = (param: FaultParam): FaultName[] =>
  FAULTS.filter((f) => FAULT_DEFS[f].params.includes(param));

/** Every parameter some fault takes, each once, in registry order. */
export const FAULT_PARAMS: readonly FaultParam[] = [
  ...new Set(FAULTS.flatMap((f) => FAULT_DEFS[f].params)),
];

export type { FaultDef, FaultImpl, RouterControl, ProxyControl, WireView } from './types.js';
export { durationParam, flagOf, mergeFields, type FaultParam } from './params.js';
