/** The netns testbed's faults, one file each, registered here. */
import type { FaultName } from '../../../scenario/spec.js';
import { graceful } from './graceful.js';
import { idleTimeout } from './idle-timeout.js';
import { ipReuse } from './ip-reuse.js';
import { kill } from './kill.js';
import { nodeLoss } from './node-loss.js';
import { partition } from './partition.js';
import { proxyDeadUpstream } from './proxy-dead-upstream.js';
import { reset } from './reset.js';
import type { NetnsFault } from './types.js';

/** latency is not here: it needs netem, which not every kernel has (the proxy testbed has it). */
export const NETNS_FAULTS: Record<Exclude<FaultName, 'latency'>, NetnsFault> = {
  graceful,
  kill,
  'node-loss': nodeLoss,
  partition,
  reset,
  'ip-reuse': ipReuse,
  'proxy-dead-upstream': proxyDeadUpstream,
  'idle-timeout': idleTimeout,
};

export type { FaultContext, NetnsFault } from './types.js';
