/**
 * What the runner needs of a testbed, whichever it is: netns (root; real kernels between three
 * namespaces) or proxy (no root; loopback through the userland fault proxy).
 */
import type { Endpoint, LabEvent } from '../events.js';
import type { FaultSpec, TestbedName } from '../faults/spec.js';
import type { LabProcess } from '../core/process.js';

/** A fault bound to one experiment's testbed and processes. */
export interface BoundFault {
  /** The client's connection the fault hits, when the testbed can tell. */
  flow: { client: Endpoint; server: Endpoint } | null;
  /** Marks `fault start` (T0) right before the action, `fault applied` once it holds. */
  apply(): Promise<void>;
  /** Marks `heal start`, then `heal applied` right before the path opens. */
  heal?: () => Promise<void>;
  /** Undoes what would keep a restarted target unreachable. */
  beforeRestart?: () => Promise<void>;
}

/** The processes and the timeline a bound fault acts on. */
export interface LiveExperiment {
  spec: FaultSpec;
  /** The run's abort signal: what the fault keeps doing in the background stops with it. */
  signal?: AbortSignal;
  target: () => LabProcess;
  mark: (e: LabEvent) => void;
}

/** One copy of the server side: where a target (and a broker's sink beside it) runs. */
export interface ServerSite {
  /** The pod's name on kube (`nats-0`), `server` elsewhere. */
  readonly name: string;
  /** On kube, the pod: events from the site carry it (several replicas share the timeline). */
  readonly pod?: string;
  /** Its own address, as the target's listening event names it. */
  readonly address: string;
  /** Its place among the target's replicas (0 when there is one). */
  readonly replica: number;
  /** The addresses of the others, for a target that joins its peers (a NATS cluster's routes). */
  readonly peers: readonly string[];
  /** A private directory of its own for config files. */
  dir(): string;
  writeFiles(files: Record<string, string>): void;
  spawn(argv: readonly string[], what: string, env?: Record<string, string>): LabProcess;
}

export interface Testbed {
  readonly name: TestbedName;
  /** The address the target binds (as the target sees it). */
  readonly targetHost: string;
  /** The target's port on this testbed. */
  readonly targetPort: number;
  /** Where the client dials to reach the target. */
  clientDial(): { host: string; port: number };
  /** Starts a process on the client's or the target's side; killed at teardown. */
  spawn(
    role: 'client' | 'server',
    argv: readonly string[],
    what: string,
    env?: Record<string, string>,
  ): LabProcess;
  /** A private temp directory (broker configs), removed at teardown. */
  privateDir(): string;
  writeFiles(files: Record<string, string>): void;
  /** What the fault put on the wire, by rule or toxic. */
  readCounters(): Promise<Map<string, number>>;
  /** Refuses (true) or admits (false) the client's new connections to the target. */
  gate(closed: boolean): Promise<void>;
  /**
   * Where the target runs: one site on netns and proxy, one per replica pod on kube. A site added
   * later (a replacement pod) is started by the function given to `onNewSite`.
   */
  sites(): readonly ServerSite[];
  onNewSite(start: (site: ServerSite) => Promise<void>): void;
  /** A failure of what the testbed does in the background (kube's control loop), if any. */
  failed?(): Error | undefined;
  /** The experiment's fault, bound to this testbed (which was built for it). */
  bindFault(live: LiveExperiment): Promise<BoundFault>;
}
