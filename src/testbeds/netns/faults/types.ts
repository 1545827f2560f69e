import type { Endpoint, LabEvent } from '../../../events.js';
import type { LabProcess } from '../../process.js';
import type { NetnsTestbed } from '../topology.js';

export interface FaultContext {
  bed: NetnsTestbed;
  readonly target: LabProcess;
  /** The client's established connection, as the client reported it. */
  flow: { client: Endpoint; server: Endpoint };
  /** Records a lab event on the timeline, stamped now. The fault's `start` mark is T0. */
  mark(event: LabEvent): void;
}

/**
 * One fault on the wire. Contract: `apply` marks `{type:'fault', phase:'start'}` immediately
 * before the action that makes the fault real (that instant is T0), and `applied` once it is in
 * force. `heal`, when the fault has one, marks `heal` `start`, and `applied` immediately before
 * the call that opens the path: a delivery after the heal can then never be stamped before it.
 */
export interface NetnsFault {
  /** What happens on the wire, in one line, for --help and reports. */
  readonly wire: string;
  /** The fault acts on the client's connection itself (`ctx.flow` must be the real one). */
  readonly needsFlow?: boolean;
  apply(ctx: FaultContext): Promise<void>;
  heal?(ctx: FaultContext): Promise<void>;
  /** Undo what keeps a restarted target unreachable (node-loss: the router's drop). */
  beforeRestart?(ctx: FaultContext): Promise<void>;
}
