/**
 * The kube testbed's control plane, as small as it can be: the replica pods, the Service's
 * endpoints (and kube-proxy's rules with them), pod signals, node loss and replacement pods, each
 * change marked on the timeline as a Kubernetes event. Its delays are the fault's to schedule
 * (`later`), with Kubernetes' defaults scaled by the time-scale.
 */
import { spawnHeld } from '../held.js';
import type { LabEvent } from '../../events.js';
import type { KubeControl, KubeRuleSite, PodView } from '../../faults/types.js';
import { scaledDelay, type KubeSettings } from '../../core/kube.js';
import type { LabProcess } from '../../core/process.js';
import { InterruptedError, LabError } from '../../errors.js';
import { sleep } from '../../util/clock.js';
import type { Teardowns } from '../../util/teardown.js';
import type { PrivateDir } from '../private-dir.js';
import type { ServerSite } from '../types.js';
import { run, spawnInNamespace } from '../netns/exec.js';
import { deleteNamespace, killNamespaceProcesses } from '../netns/topology.js';
import { SLOTS, type KubePlan } from './plan.js';
import { endpointChain, serviceRules, type EndpointState } from './service.js';
import { addNamespace, inNs, restore, type TaggedRules, vethLink } from './wire.js';

export interface Pod extends PodView {
  /** The node's end of its veth, its default route (a reused address keeps its old gateway). */
  readonly gateway: string;
  readonly replica: number;
  readonly generation: number;
  readonly ns: string;
  readonly slot: number;
  readonly dir: PrivateDir;
}

export interface ClusterConfig {
  settings: KubeSettings;
  plan: KubePlan;
  teardowns: Teardowns;
  rules: TaggedRules;
  service: string;
  targetPort: number;
  nodeNs(k: number): string;
  podNs(replica: number, generation: number): string;
  fabric: string;
  clientNode: string;
  clientNs: string;
  dir(): PrivateDir;
  /** Starts the target (and a broker's sink) in a new pod. */
  start(site: ServerSite): Promise<void>;
  spawnClient(argv: readonly string[], what: string): LabProcess;
  writeHosts(): Promise<void>;
}

export class Cluster {
  private readonly byName = new Map<string, Pod>();
  private readonly endpoints = new Map<string, EndpointState>();
  /** Slots in use per node, and the last one handed out. */
  private readonly used = new Map<number, Set<number>>();
  private readonly lastSlot = new Map<number, number>();
  private readonly silent = new Set<number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private failure: Error | undefined;
  private loopRegistered = false;
  private stopped = false;

  constructor(private readonly c: ClusterConfig) {}

  nodeNs(k: number): string {
    return this.c.nodeNs(k);
  }

  pods(): readonly Pod[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  private pod(name: string): Pod {
    const p = this.byName.get(name);
    if (!p) throw new LabError(`internal: no pod ${name}`);
    return p;
  }

  /** A pod for replica `replica` on node `node`: its namespace, its veth and its address. */
  async addPod(
    replica: number,
    node: number,
    opts: { ip?: { pod: string; gateway: string; slot?: number }; ready?: boolean } = {},
  ): Promise<Pod> {
    this.refuseStopped();
    const name = `${this.c.service}-${replica}`;
    const generation = (this.generations.get(name) ?? -1) + 1;
    this.generations.set(name, generation);
    const ns = this.c.podNs(replica, generation);
    // A reserved slot of the node's CIDR, or (no slot) an address reused from another node.
    const { slot = -1, ...addr } = opts.ip ?? this.reserve(node);
    await addNamespace(this.c.teardowns, ns);
    const nodeNs = this.c.nodeNs(node);
    const dev = `p${replica}g${generation}`;
    await vethLink(nodeNs, dev, addr.gateway, ns, addr.pod);
    // An address outside the node's own CIDR (a reused IP) is routed to it by name.
    if (slot < 0)
      await run([
        'ip',
        '-n',
        this.c.fabric,
        'route',
        'replace',
        `${addr.pod}/32`,
        'via',
        this.c.plan.nodeLink(node).node,
      ]);
    const uid = generation === 0 ? name : `${name}.${generation}`;
    const pod: Pod = {
      name,
      uid,
      ip: addr.pod,
      gateway: addr.gateway,
      node,
      replica,
      generation,
      ns,
      slot,
      dir: this.c.dir(),
    };
    this.byName.set(name, pod);
    // A replacement's endpoint is not ready until kube-proxy learns it runs (the fault says when).
    if (opts.ready) this.endpoints.set(uid, { pod: uid, ip: pod.ip, state: 'ready' });
    return pod;
  }

  private readonly generations = new Map<string, number>();

  /**
   * The next free address on a node, as host-local IPAM hands them out: after the last one given,
   * so a pod made where one was just deleted gets a new address, not the freed one.
   */
  reserve(node: number): { slot: number; pod: string; gateway: string } {
    const slots = this.used.get(node) ?? new Set<number>();
    this.used.set(node, slots);
    const last = this.lastSlot.get(node) ?? -1;
    let slot = -1;
    for (let k = 1; k <= SLOTS && slot < 0; k++)
      if (!slots.has((last + k) % SLOTS)) slot = (last + k) % SLOTS;
    const addr = this.c.plan.podSlot(node, slot);
    slots.add(slot);
    this.lastSlot.set(node, slot);
    return { slot, ...addr };
  }

  /** Where the target runs in a pod, with its peers for a clustered target. */
  site(p: Pod): ServerSite {
    const peers = this.pods()
      .filter((o) => o.name !== p.name)
      .map((o) => o.ip);
    return {
      name: p.name,
      pod: p.name,
      address: p.ip,
      replica: p.replica,
      peers: this.c.settings.replicas > 1 ? peers : [],
      dir: () => p.dir.path(),
      writeFiles: (files) => p.dir.write(files),
      spawn: (argv, what, env) => {
        return spawnHeld(this.c.teardowns, what, () => spawnInNamespace(p.ns, argv, env));
      },
    };
  }

  /** kube-proxy's sync: the Service's rules for the endpoints now, in one transaction. */
  async syncService(): Promise<void> {
    // The REJECT rule is flushed with its chain: keep what it counted.
    await this.c.rules.carry((t) => t.startsWith('svc-no-endpoints:'));
    await restore(
      this.c.clientNode,
      serviceRules(this.c.plan.serviceIp, this.c.targetPort, [...this.endpoints.values()]),
    );
  }

  /** A control-plane step that failed: it fails the experiment. */
  failed(): Error | undefined {
    return this.failure;
  }

  /** The control a fault gets: `mark` stamps its events (null while building). */
  control(mark: ((e: LabEvent) => void) | null): KubeControl {
    const event = (
      object: Parameters<KubeControl['event']>[0],
      name: string,
      change: string,
    ): void => mark?.({ type: 'k8s', object, name, change });
    const siteNs = (site: KubeRuleSite): string =>
      site === 'fabric' ? this.c.fabric : this.c.clientNode;
    const c = this.c;
    return {
      settings: c.settings,
      targetPort: c.targetPort,
      serviceIp: c.plan.serviceIp,
      clientIp: c.plan.podSlot(0, 0).pod,
      pods: () => this.pods().map(({ name, ip, node, uid }) => ({ name, ip, node, uid })),
      delay: (key) => scaledDelay(c.settings, key),
      later: (ms, what, step) => this.later(ms, what, step),
      setEndpoint: async (name, state, uid) => {
        const p = this.pod(name);
        const meant = uid ?? p.uid;
        if (state === 'gone') this.endpoints.delete(meant);
        // A step meant for a pod since replaced does not touch its successor.
        else if (meant !== p.uid) return;
        else this.endpoints.set(meant, { pod: p.uid, ip: p.ip, state });
        await this.syncService();
        event('endpoint', name, state === 'gone' ? 'removed from the Service' : state);
      },
      signalPod: async (name, signal) => {
        const p = this.pod(name);
        event('pod', name, signal);
        const { stdout } = await run(['ip', 'netns', 'pids', p.ns], { allowFail: true });
        for (const pid of stdout
          .split('\n')
          .map(Number)
          .filter((n) => n > 0))
          try {
            process.kill(pid, signal);
          } catch {
            // gone meanwhile
          }
      },
      podStopped: async (name, ms) => {
        const p = this.pod(name);
        const until = Date.now() + ms;
        for (;;) {
          const { stdout } = await run(['ip', 'netns', 'pids', p.ns], { allowFail: true });
          if (stdout.trim() === '') return true;
          // The experiment is over: teardown kills what is left; the step goes no further.
          this.refuseStopped();
          if (Date.now() >= until) return false;
          await sleep(20);
        }
      },
      armNodeLoss: (node) => {
        const dev = `n${node}`;
        const armed = c.rules.arm(c.fabric, 'filter', `node-loss-${node}`, [
          `FORWARD -o ${dev} -j DROP`,
          `FORWARD -i ${dev} -j DROP`,
        ]);
        return Promise.resolve({
          commit: async () => {
            await armed.commit();
            this.silent.add(node);
            event('node', `node${node}`, 'lost (silent both ways)');
          },
        });
      },
      killNode: async (node) => {
        await killNamespaceProcesses(c.nodeNs(node));
        for (const p of this.pods().filter((o) => o.node === node)) {
          await killNamespaceProcesses(p.ns);
          event('pod', p.name, 'gone with its node');
        }
      },
      replacePod: async (name, opts) => {
        this.refuseStopped();
        const old = this.pod(name);
        const node = opts.node ?? this.spareNode();
        if (opts.sameIp && this.exists(old))
          throw new LabError(`internal: ${name} still holds ${old.ip}`);
        // A reused address (--same-ip) takes no slot of the new node's own CIDR.
        const ip = opts.sameIp ? { pod: old.ip, gateway: old.gateway } : this.reserve(node);
        // Marked before its network exists: from here its kernel may answer.
        event('pod', name, `scheduled on node${node} with ${ip.pod}`);
        const pod = await this.addPod(old.replica, node, { ip });
        await restore(c.clientNode, endpointChain(pod.uid, pod.ip, c.targetPort));
        await c.start(this.site(pod));
        event('pod', name, 'running');
        if (c.settings.service === 'headless') await c.writeHosts();
        return { name: pod.name, ip: pod.ip, node: pod.node, uid: pod.uid };
      },
      deletePod: async (name) => {
        this.refuseStopped();
        const p = this.pod(name);
        // Gone from the EndpointSlice with the object; kube-proxy's rules at the next sync.
        this.endpoints.delete(p.uid);
        this.deleted.add(p.ns);
        await deleteNamespace(p.ns);
        this.used.get(p.node)?.delete(p.slot);
        event('pod', name, 'deleted');
      },
      addRules: (site, tag, lines) => c.rules.add(siteNs(site), 'filter', tag, lines),
      armRules: (site, tag, lines) =>
        Promise.resolve(c.rules.arm(siteNs(site), 'filter', tag, lines)),
      removeRules: (_site, tag) => c.rules.remove(tag),
      execClientNode: (argv) => run(inNs(c.clientNode, argv)),
      spawnInClientPod: (argv, what) => c.spawnClient(argv, what),
      event,
    };
  }

  private readonly deleted = new Set<string>();

  private exists(p: Pod): boolean {
    return !this.deleted.has(p.ns);
  }

  /** A node that holds no pod and is not lost (the spare after the replicas' nodes). */
  private spareNode(): number {
    const busy = new Set(
      this.pods()
        .filter((p) => this.exists(p))
        .map((p) => p.node),
    );
    for (let k = 1; k < this.c.settings.replicas + 2; k++)
      if (!busy.has(k) && !this.silent.has(k)) return k;
    throw new LabError('no spare node left for a replacement pod');
  }

  /** Ends the loop: no step starts after this, and a step that is running stops at its next call. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const resolve of this.pending) resolve(false);
    this.pending.clear();
    await Promise.all([...this.running]);
  }

  private readonly pending = new Set<(ran: boolean) => void>();

  /** A step of a stopped loop goes no further (teardown, or the run interrupted). */
  private refuseStopped(): void {
    if (this.stopped) throw new InterruptedError();
  }

  /** The loop stops with the run (Ctrl-C); its stop runs before any other teardown. */
  watch(signal: AbortSignal | undefined): void {
    if (this.loopRegistered) return;
    this.loopRegistered = true;
    this.c.teardowns.deferFirst('stop the control loop', () => this.stop());
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /** Runs a control-plane step `ms` from now; true once it has run, false if the loop stopped. */
  private later(ms: number, what: string, step: () => Promise<void>): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.watch(undefined);
    return new Promise<boolean>((resolve) => {
      this.pending.add(resolve);
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          this.pending.delete(resolve);
          if (this.stopped) return resolve(false);
          const p: Promise<void> = step()
            .catch((err: unknown) => {
              if (!this.stopped)
                this.failure ??= new LabError(
                  `${what}: ${err instanceof Error ? err.message : String(err)}`,
                );
            })
            .finally(() => {
              this.running.delete(p);
              resolve(true);
            });
          this.running.add(p);
        },
        Math.max(0, ms),
      );
      this.timers.add(timer);
    });
  }
}
