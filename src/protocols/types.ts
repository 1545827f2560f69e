/**
 * What a protocol is: the target the lab starts in the server namespace (the one the faults act
 * on), the client it starts in the client namespace, the sink on the far side where the target
 * does not count deliveries itself, and the strategies its client understands. One folder per
 * protocol implements this; the registry is index.ts.
 */
import type { Window } from '../core/window.js';
import type { Strategy, StrategyKind } from '../strategies/index.js';
import type { Workload } from '../core/workload.js';

export interface LaunchConfig {
  /** The address to bind: the testbed's target host. */
  host: string;
  port: number;
  /** A private directory for config files, removed at teardown. */
  dir: string;
  /** The experiment's strategy, for servers that take part in it (ws side=server). */
  strategy: Strategy;
  /** The experiment's workload: the lab's own servers push for `subscribe`. */
  workload: Workload;
  /** The first sequence number a pushing server sends (after a restart, where the last stopped). */
  firstSeq: number;
  /**
   * One replica of several (kube): its name and its peers' addresses, for a target that joins
   * them (NATS cluster routes); `advertise`: tell clients the others' addresses.
   */
  cluster?: { name: string; peers: readonly string[]; advertise: boolean };
}

export interface Launch {
  argv: string[];
  /** Files to write into `dir` before starting, by name. */
  files: Record<string, string>;
}

export interface BrokerBinary {
  /** The executable, looked up on PATH (with /usr/sbin). */
  binary: string;
  /** The Debian package that provides it. */
  package: string;
  /** The log line that says it accepts connections. */
  ready: RegExp;
  /** argv that prints its version. */
  versionArgv: string[];
}

export interface TargetDef {
  /** The port it listens on inside its own namespace. */
  port: number;
  describe: string;
  launch(config: LaunchConfig): Launch;
  /** Set for brokers: a real binary, not one of the lab's own scripts. */
  broker?: BrokerBinary;
  /** Where the broker binary is missing, the proxy testbed runs this embedded one instead. */
  embedded?: TargetDef;
  /** For targets that are packages, not binaries: what runs, with its version. */
  version?: string;
  /**
   * Arguments that make a broker log each client's address as it connects, added on a real
   * cluster, where that log is how the driver learns which replica the client reached.
   */
  logsClients?: readonly string[];
  /** How many replicas it can run behind a Service (kube): mosquitto does not cluster. */
  maxReplicas: number;
  /** Replicas on the kube testbed unless asked (the seed's NATS cluster has three). */
  defaultReplicas: number;
}

export interface ClientArgs {
  host: string;
  port: number;
  clientId: string;
  strategy: Strategy;
  workload: Workload;
  qos: 0 | 1;
}

export interface SinkArgs {
  /** The broker's port on the server namespace's loopback. */
  port: number;
  clientId: string;
  workload: Workload;
  qos: 0 | 1;
}

export interface ClientDef {
  argv(args: ClientArgs): string[];
  /** The library that speaks the protocol and its version, reported with every result. */
  library: string;
}

export interface ProtocolDef {
  readonly target: TargetDef;
  readonly client: ClientDef;
  /** The broker-side counterpart that counts and publishes; null: the target is its own sink. */
  readonly sink: { argv(args: SinkArgs): string[] } | null;
  /**
   * Who publishes to a subscribing client: the sink (a broker's), the target itself (the lab's
   * own servers push), or nobody (the protocol's server only receives).
   */
  readonly pushes: 'sink' | 'target' | null;
  /** The strategy kinds its client understands, in the order --help lists them. */
  readonly strategies: readonly StrategyKind[];
  /** Its library's own behaviour, as a strategy spec (what runs without --strategy). */
  readonly defaultStrategy: string;
  /** MQTT's quality of service applies (--qos). */
  readonly qos: boolean;
  /**
   * Its client's socket keeps Nagle's algorithm on (it never sets TCP_NODELAY), so a small write
   * waits for the ACK of the one before it.
   */
  readonly nagle: boolean;
  /** The address your own client is given in HALFOPEN_URL. */
  url(host: string, port: number): string;
  /**
   * The server's own pings to the client, as a middlebox sees them: the first one `firstMs`
   * after the connection opened, then every `everyMs`. null: the server sends none of its own.
   */
  readonly serverPings: { firstMs: Window; everyMs: number } | null;
}
