/**
 * What a fault is: the parameters it takes, how each testbed puts it on the wire, whether the
 * path comes back, where reconnect is measured from, its predicted window, and the sentence that
 * says what crossed the wire. One file per fault implements this; the registry is index.ts.
 *
 * Contract for `apply`: mark `{type:'fault', phase:'start'}` immediately before the action that
 * makes the fault real (that instant is T0), and `applied` once it is in force. `heal` marks
 * `heal` `start`, and `applied` immediately before the call that opens the path, so a delivery
 * after the heal can never be stamped before it.
 */
import type { Prediction } from '../core/window.js';
import type { Endpoint, KubeObject, LabEvent } from '../events.js';
import type { KubeDelayKey, KubeSettings } from '../core/kube.js';
import type { FaultSpec, TestbedName } from './spec.js';
import type { LabProcess } from '../core/process.js';
import type { FaultParam } from './params.js';

/** What every testbed gives a fault while it runs. */
export interface FaultContext {
  readonly spec: FaultSpec;
  /** The target process now (a restart replaces it). */
  readonly target: LabProcess;
  /** Records a lab event on the timeline, stamped now. */
  mark(event: LabEvent): void;
}

/** The netns testbed's addresses, as faults write rules about them. */
export interface RouterAddresses {
  client: string;
  routerClientSide: string;
  routerServerSide: string;
  server: string;
}

/**
 * The router namespace, as far as a fault may touch it: tagged iptables rules (removed at
 * teardown; their packet counters are the wire's record), sysctls and tools run inside it, a
 * process inside it, and the one topology change a fault may ask for.
 */
export interface RouterControl {
  readonly addr: RouterAddresses;
  readonly targetPort: number;
  /** `-A` rule bodies for the filter table, installed atomically under `tag`. */
  addRules(tag: string, lines: string[]): Promise<void>;
  /**
   * Loads rules now and puts them in force at `commit`, in one transaction that takes a few
   * milliseconds: for a fault's T0, which then falls right before `commit`.
   */
  armRules(tag: string, lines: string[]): Promise<{ commit(): Promise<void> }>;
  /** Removes a tag's rules, keeping their counters. */
  removeRules(tag: string): Promise<void>;
  sysctl(key: string, value: number): Promise<void>;
  /** Runs a tool inside the router namespace. */
  exec(
    argv: readonly string[],
    opts?: { allowFail?: boolean },
  ): Promise<{ stdout: string; stderr: string }>;
  /** Starts a process inside the router namespace; stopped at teardown. */
  spawn(argv: readonly string[], what: string): LabProcess;
  /** The server's host goes for good: its processes, its link, its namespace. */
  removeServerHost(): Promise<void>;
  /** A fresh host takes the server's name and address, with nothing running on it. */
  addServerHost(): Promise<void>;
}

export interface NetnsFaultContext extends FaultContext {
  readonly router: RouterControl;
  /** The client's established connection (as its kernel lists it, or a stand-in without one). */
  readonly flow: { client: Endpoint; server: Endpoint };
}

/** A replica pod of the kube testbed. */
export interface PodView {
  /** As Kubernetes names it: `nats-0` (a replacement keeps the name). */
  readonly name: string;
  readonly ip: string;
  /** Its node (node 0 holds the client). */
  readonly node: number;
  /** This pod, not its replacement of the same name (`nats-0`, then `nats-0.1`, ...). */
  readonly uid: string;
}

/** Where kube rules go: the client's node (kube-proxy, conntrack, policy) or the fabric between nodes. */
export type KubeRuleSite = 'client-node' | 'fabric';

/**
 * The small cluster, as far as a fault may touch it: the endpoints kube-proxy steers to, the pods'
 * processes, the nodes, the client node's conntrack and tagged rules. Each change is marked on the
 * timeline as a Kubernetes event.
 */
export interface KubeControl {
  readonly settings: KubeSettings;
  readonly targetPort: number;
  /** The Service's ClusterIP. */
  readonly serviceIp: string;
  /** The client pod's address. */
  readonly clientIp: string;
  /** The replica pods now, in name order. */
  pods(): readonly PodView[];
  /** A control-plane delay as the lab runs it (scaled). */
  delay(key: KubeDelayKey): number;
  /**
   * Runs `step` `ms` from now, as the control plane would; stopped at teardown or when the run is
   * interrupted. A step that fails fails the experiment. Resolves true once the step has run,
   * false when the loop stopped first.
   */
  later(ms: number, what: string, step: () => Promise<void>): Promise<boolean>;
  /**
   * Sets an endpoint's state in the Service, and kube-proxy's rules with it, now (the fault waits
   * `endpoint_lag` first where Kubernetes would): `ready` and `terminating` endpoints are in the
   * EndpointSlice; kube-proxy steers new connections to ready ones, to terminating ones only when
   * none is ready; `not-ready` ones never (a pod on a NotReady node); `gone` leaves the slice.
   */
  setEndpoint(
    pod: string,
    state: 'ready' | 'terminating' | 'not-ready' | 'gone',
    /** The pod meant, when it may have been replaced since (a step scheduled earlier). */
    uid?: string,
  ): Promise<void>;
  /** Signals every process in the pod (its container); marked on the timeline. */
  signalPod(pod: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Resolves once every process of the pod has exited (at most `ms`; false: still running). */
  podStopped(pod: string, ms: number): Promise<boolean>;
  /**
   * The node goes silent both ways: the fabric drops everything to and from it, committed at T0
   * (`armRules`' contract), then everything on it dies behind the drop.
   */
  armNodeLoss(node: number): Promise<{ commit(): Promise<void> }>;
  /** Kills the node's processes (pods and all) behind its drop. */
  killNode(node: number): Promise<void>;
  /**
   * A new pod for the replica `name` on a spare node, with the target (and a broker's sink)
   * started in it: a new address, or (`sameIp`) the old pod's, which must be gone.
   */
  replacePod(name: string, opts: { sameIp: boolean; node?: number }): Promise<PodView>;
  /** The pod leaves the cluster: its processes die and its namespace goes. */
  deletePod(name: string): Promise<void>;
  /** Tagged filter rules (`-A CHAIN ...` bodies) at a site; counters kept after removal. */
  addRules(site: KubeRuleSite, tag: string, lines: string[]): Promise<void>;
  armRules(site: KubeRuleSite, tag: string, lines: string[]): Promise<{ commit(): Promise<void> }>;
  removeRules(site: KubeRuleSite, tag: string): Promise<void>;
  /** Runs a tool in the client's node (`conntrack -D ...`, `sysctl`). */
  execClientNode(argv: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** Starts a process in the client's pod; stopped at teardown. */
  spawnInClientPod(argv: readonly string[], what: string): LabProcess;
  /** Marks a Kubernetes event on the timeline. */
  event(object: KubeObject, name: string, change: string): void;
}

export interface KubeFaultContext extends FaultContext {
  readonly kube: KubeControl;
  /** The client's established connection (as its kernel lists it). */
  readonly flow: { client: Endpoint; server: Endpoint };
  /** The pod the client's connection is on: its conntrack entry's DNAT destination. */
  readonly flowPod: PodView;
}

/** A pod of the target on a real cluster, as its API shows it. */
export interface ClusterPod {
  readonly name: string;
  readonly uid: string;
  readonly ip: string;
  readonly node: string;
}

/**
 * A real cluster (the k8s testbed), as far as a fault may touch it: calls to its API, and a hook
 * of the user's for what no API call can do. What the cluster does in answer (pods terminating,
 * endpoints leaving their EndpointSlice) comes back through its watches and is marked by the
 * testbed, not by the fault. Everything a call leaves behind (a cordon, a policy) is undone at
 * teardown.
 */
export interface ClusterControl {
  readonly namespace: string;
  /** The settings the target was deployed with (replicas, grace period, preStop). */
  readonly settings: KubeSettings;
  /** The target's pods now, as the pod watch last saw them. */
  pods(): readonly ClusterPod[];
  /** DELETE of the pod, with this grace period (0: forced) or the pod's own. */
  deletePod(name: string, gracePeriodSeconds?: number): Promise<void>;
  /** The pod's eviction (policy/v1), as `kubectl drain` asks for it. */
  evictPod(name: string): Promise<void>;
  /** Marks the node unschedulable; undone at teardown. */
  cordon(node: string): Promise<void>;
  /** A NetworkPolicy denying all traffic to and from the target's pods; deleted at teardown. */
  denyAll(): Promise<void>;
  /** `kubectl rollout restart` of the target's StatefulSet. */
  rolloutRestart(): Promise<void>;
  /** Runs the user's hook command (node-loss) with `env` added; fails the run if it fails. */
  runHook(command: string, env: Record<string, string>): Promise<void>;
  /** Starts a process in the driver's pod (kubectl port-forward); stopped at teardown. */
  spawnInDriver(argv: readonly string[], what: string): LabProcess;
  /** Marks a Kubernetes event on the timeline. */
  event(object: KubeObject, name: string, change: string): void;
}

export interface K8sFaultContext extends FaultContext {
  readonly cluster: ClusterControl;
  /** The client's established connection, as the driver's kernel lists it. */
  readonly flow: { client: Endpoint; server: Endpoint };
  /** The pod the client's connection is on (null when the cluster would not say). */
  readonly flowPod: ClusterPod | null;
}

/** Extra permissions a fault needs beyond the driver's Role. */
export type ClusterAccess = 'nodes';

/** How a fault is made on a real cluster (the k8s testbed). */
export interface K8sFaultImpl extends Omit<FaultImpl<K8sFaultContext>, 'prepare'> {
  /**
   * How long after `applied` the fault must have stopped the client's messages reaching the sink.
   * A sink that still receives from the client after that, while the client has noticed nothing,
   * gives the verdict 'fault not in force' (a CNI that judges only new connections). Null when the
   * fault closes the connection itself (nothing to check).
   */
  readonly inForceAfterMs: number | null;
  /** The fault creates the deny-all NetworkPolicy (so --dry-run shows it). */
  readonly deniesAll?: boolean;
  /** Permissions beyond the driver's Role (`--node-access`). */
  readonly access?: readonly ClusterAccess[];
  /** Builds what the fault needs before the client starts; returns where the client dials then. */
  prepare?(
    cluster: ClusterControl,
    spec: FaultSpec,
  ): Promise<{ host: string; port: number } | null>;
  reconnectFrom?: 'detection' | null;
  takesSink?: boolean;
  validate?(spec: FaultSpec): void;
}

export interface ToxicSpec {
  name: string;
  type: string;
  stream: 'upstream' | 'downstream';
  attributes?: Record<string, number>;
}

/** The fault proxy in the client's path, as far as a fault may touch it. */
export interface ProxyControl {
  /** Toxics on the connections open now (`open`), or on every connection, new ones too (`all`). */
  addToxics(list: readonly ToxicSpec[], scope: 'open' | 'all'): void;
  removeToxics(names: readonly string[]): void;
}

export interface ProxyFaultContext extends FaultContext {
  readonly proxy: ProxyControl;
}

/** Counters and settings a result carries, for the sentence that says what crossed the wire. */
export interface WireView {
  wire: Record<string, number>;
  latency: { ms: number; jitter_ms: number } | null;
  idle_timeout: { ms: number; on_expiry: 'drop' | 'reset' } | null;
}

/** How one testbed puts a fault on the wire. */
export interface FaultImpl<C extends FaultContext> {
  /**
   * System tools the fault runs beyond the testbed's own (`conntrack`): the testbed checks them
   * before it creates anything, so a missing one is one line naming its package.
   */
  readonly tools?: readonly string[];
  /**
   * Builds what the fault needs into the testbed before the target starts (a middlebox, a proxy
   * in the path). Returns where the client dials instead of the target, if that changes.
   */
  prepare?(router: RouterControl, spec: FaultSpec): Promise<{ host: string } | null>;
  /** The fault acts on the client's connection itself (`ctx.flow` must be the real one). */
  needsFlow?: boolean;
  apply(ctx: C): Promise<void>;
  heal?(ctx: C): Promise<void>;
  /** Undoes what would keep a restarted target unreachable (node-loss: the router's drop). */
  beforeRestart?(ctx: C): Promise<void>;
  /** What crossed the wire, from the result's counters (the client's part is added after). */
  describe(view: WireView): string;
  /** The window on this testbed, where its way of making the fault differs from the fault's. */
  predict?(spec: FaultSpec): Prediction;
}

/** How a fault is made on the kube testbed: what it builds first, and where the client dials. */
export interface KubeFaultImpl extends Omit<FaultImpl<KubeFaultContext>, 'prepare'> {
  /**
   * Builds what the fault needs before the client starts (a port-forward relay in the client's
   * pod). Returns where the client dials instead of the Service, if that changes.
   */
  prepare?(kube: KubeControl, spec: FaultSpec): Promise<{ host: string; port: number } | null>;
  /** Where reconnect is measured from on this testbed, when it differs from the fault's. */
  reconnectFrom?: 'detection' | null;
  /** The fault takes pods (and the sinks beside their brokers) down on this testbed. */
  takesSink?: boolean;
  /** Checks of the spec on this testbed (a node-level fault needs a spare node, ...). */
  validate?(spec: FaultSpec): void;
}

export interface FaultDef {
  /** The real-world cause and what it does on the wire, one line for --help. */
  readonly summary: string;
  readonly params: readonly FaultParam[];
  /** How each testbed implements it; a testbed without an entry cannot run it. */
  readonly testbeds: {
    readonly netns?: FaultImpl<NetnsFaultContext>;
    readonly proxy?: FaultImpl<ProxyFaultContext>;
    readonly kube?: KubeFaultImpl;
    readonly k8s?: K8sFaultImpl;
  };
  /**
   * Where reconnect is measured from when no heal or restart brings the path back: `detection`
   * when the fault breaks only the one flow (a new connection passes at once), else null.
   */
  readonly reconnectFrom: 'detection' | null;
  /** The fault takes the sink down with the target's host (so the sink's exit is expected). */
  readonly takesSink: boolean;
  /** The path and the peer stay alive (only slower): any detection is a false disconnect. */
  readonly peerAlive: boolean;
  /** Checks that need more than one field (whole seconds on netns, ...). */
  validate?(spec: FaultSpec): void;
  /** The window its formula gives for this client, and why. */
  predict(spec: FaultSpec): Prediction;
}

export type { TestbedName };
