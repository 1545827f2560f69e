import type { Workload } from '../../core/workload.js';
import type { Strategy } from '../../strategies/index.js';

/** What the lab's WebSocket, gRPC and HTTP/2 servers are started with. */
export interface AppTargetConfig {
  host: string;
  port: number;
  /** The experiment's strategy: the ws server runs its half of a side=server|both heartbeat. */
  strategy: Strategy;
  /** `subscribe`: the server pushes at its rate (see push.ts), numbering from `firstSeq`. */
  workload: Workload;
  firstSeq: number;
}
