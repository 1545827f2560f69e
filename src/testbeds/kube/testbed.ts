/**
 * The kube testbed: a small cluster's data plane, in namespaces.
 *
 *   [client pod] -- node00 --+                    +-- node01 -- [nats-0 pod]
 *                  kube-proxy |--- fabric (the ---+-- node02 -- [nats-1 pod]
 *                  conntrack  |    network)       +-- node03 -- [nats-2 pod]
 *                                                 +-- node04    (spare: replacements)
 *
 * Each node is a namespace routing its own pod CIDR; each pod a namespace on a veth from its node.
 * The client's node runs the Service as kube-proxy's iptables mode writes it (service.ts), with
 * kube-proxy's conntrack timeouts. The replicas run the target (and a broker's sink beside it, over
 * the pod's loopback). A small control loop (cluster.ts) changes endpoints, signals pods and loses
 * nodes with Kubernetes' delays, scaled by the time-scale.
 */
import { spawnHeld } from '../held.js';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Endpoint } from '../../events.js';
import type { KubeFaultContext, KubeFaultImpl, PodView } from '../../faults/types.js';
import type { FaultSpec } from '../../faults/spec.js';
import type { KubeSettings } from '../../core/kube.js';
import type { LabProcess } from '../../core/process.js';
import { LabError } from '../../errors.js';
import type { Teardowns } from '../../util/teardown.js';
import { PrivateDir } from '../private-dir.js';
import type { BoundFault, LiveExperiment, ServerSite, Testbed } from '../types.js';
import { run, spawnInNamespace } from '../netns/exec.js';
import { establishedTo } from '../netns/plumbing.js';
import { dirPrefix } from '../netns/names.js';
import { NETNS_ETC } from '../netns/cleanup.js';
import { Cluster } from './cluster.js';
import { KubePlan } from './plan.js';
import { endpointChain, serviceSkeleton } from './service.js';
import { addNamespace, inNs, kubeNs, restore, sysctl, TaggedRules, vethLink } from './wire.js';

export interface KubeOptions {
  runId: string;
  index: number;
  /** net.ipv4.* sysctls for the client's pod. */
  clientSysctls: Record<string, number>;
  targetPort: number;
  /** The Service's name: the target's (`nats`); pods are `nats-0`, `nats-1`, ... */
  service: string;
  settings: KubeSettings;
  fault: KubeFaultImpl;
  spec: FaultSpec;
}

/** kube-proxy's conntrack timeouts (its --conntrack-tcp-timeout-* defaults). */
const CONNTRACK_SYSCTLS: Record<string, number> = {
  'net.netfilter.nf_conntrack_tcp_timeout_established': 86_400,
  'net.netfilter.nf_conntrack_tcp_timeout_close_wait': 3600,
};

export class KubeTestbed implements Testbed {
  readonly name = 'kube' as const;
  readonly targetHost = '0.0.0.0';
  readonly targetPort: number;
  readonly plan = KubePlan.allocate();
  readonly cluster: Cluster;
  private readonly clientNs: string;
  private readonly clientNode: string;
  private readonly fabric: string;
  readonly rules: TaggedRules;
  private dial: { host: string; port: number } | null = null;
  private starter: ((site: ServerSite) => Promise<void>) | null = null;

  private constructor(
    private readonly opts: KubeOptions,
    private readonly teardowns: Teardowns,
  ) {
    teardowns.defer('release the address block', () => this.plan.release());
    this.targetPort = opts.targetPort;
    const ns = (role: string): string => kubeNs(opts.runId, opts.index, role);
    this.fabric = ns('fabric');
    this.clientNode = ns('node00');
    this.clientNs = ns('client');
    this.rules = new TaggedRules(teardowns, () => [this.clientNode, this.fabric]);
    this.cluster = new Cluster({
      settings: opts.settings,
      plan: this.plan,
      teardowns,
      rules: this.rules,
      service: opts.service,
      targetPort: opts.targetPort,
      nodeNs: (k) => ns(`node0${k}`),
      podNs: (replica, generation) => ns(`pod${replica}${String(generation).padStart(2, '0')}`),
      fabric: this.fabric,
      clientNode: this.clientNode,
      clientNs: this.clientNs,
      dir: () => new PrivateDir(dirPrefix(opts.runId, opts.index), teardowns),
      start: (site) => {
        if (!this.starter) throw new LabError('internal: no starter for a new pod');
        return this.starter(site);
      },
      spawnClient: (argv, what) => this.spawn('client', argv, what),
      writeHosts: () => this.writeHosts(),
    });
  }

  static async create(opts: KubeOptions, teardowns: Teardowns): Promise<KubeTestbed> {
    const bed = new KubeTestbed(opts, teardowns);
    await bed.build();
    return bed;
  }

  private get nodes(): number {
    // The client's node, one per replica, and a spare for replacements.
    return this.opts.settings.replicas + 2;
  }

  private async build(): Promise<void> {
    for (const tool of ['conntrack', ...(this.opts.fault.tools ?? [])])
      await run([tool, '--version']);
    const { plan, fabric } = this;
    await addNamespace(this.teardowns, fabric);
    await sysctl(fabric, 'net.ipv4.ip_forward', 1);
    for (let k = 0; k < this.nodes; k++) {
      const node = this.cluster.nodeNs(k);
      await addNamespace(this.teardowns, node);
      await sysctl(node, 'net.ipv4.ip_forward', 1);
      const link = plan.nodeLink(k);
      await vethLink(fabric, `n${k}`, link.fabric, node, link.node);
      await run(['ip', '-n', fabric, 'route', 'add', plan.podCidr(k), 'via', link.node]);
    }
    // kube-proxy on the client's node: its conntrack timeouts, the Service and its endpoints.
    const skeleton = serviceSkeleton(plan.serviceIp, this.targetPort);
    await restore(this.clientNode, skeleton.nat);
    await restore(this.clientNode, skeleton.filter);
    for (const [k, v] of Object.entries(CONNTRACK_SYSCTLS)) await sysctl(this.clientNode, k, v);
    // What crossed the client's node: RST and FIN toward the client, from it (counted, not acted on).
    const client = plan.podSlot(0, 0).pod;
    await this.rules.add(this.clientNode, 'filter', 'wire', [
      `FORWARD -d ${client}/32 -p tcp --tcp-flags RST RST`,
      `FORWARD -d ${client}/32 -p tcp --tcp-flags FIN FIN`,
      `FORWARD -s ${client}/32 -p tcp --tcp-flags RST RST`,
      `FORWARD -s ${client}/32 -p tcp --tcp-flags FIN FIN`,
    ]);
    // The client's pod on node 0, slot 0.
    await addNamespace(this.teardowns, this.clientNs);
    const slot = plan.podSlot(0, 0);
    await vethLink(this.clientNode, 'p0', slot.gateway, this.clientNs, slot.pod);
    for (const [k, v] of Object.entries(this.opts.clientSysctls))
      await sysctl(this.clientNs, `net.ipv4.${k}`, v);
    // The replicas, one per node after the client's, each ready in the Service.
    for (let i = 0; i < this.opts.settings.replicas; i++) {
      const pod = await this.cluster.addPod(i, i + 1, { ready: true });
      await restore(this.clientNode, endpointChain(pod.uid, pod.ip, this.targetPort));
    }
    await this.cluster.syncService();
    if (this.opts.settings.service === 'headless') await this.writeHosts();
    this.dial =
      (await this.opts.fault.prepare?.(this.cluster.control(null), this.opts.spec)) ?? null;
  }

  /**
   * Headless: the pods' names resolve to their addresses through the client pod's /etc/hosts
   * (`ip netns exec` mounts /etc/netns/<ns>/hosts over it). Rewritten in place, so the mount sees
   * every change, as a DNS record would change.
   */
  private writeHosts(): Promise<void> {
    const dir = `${NETNS_ETC}/${this.clientNs}`;
    if (!this.hostsMade) {
      this.teardowns.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
      mkdirSync(dir, { recursive: true });
      this.hostsMade = true;
    }
    const lines = ['127.0.0.1 localhost'];
    for (const p of this.cluster.pods()) lines.push(`${p.ip} ${this.podHost(p.name)}`);
    writeFileSync(`${dir}/hosts`, `${lines.join('\n')}\n`);
    return Promise.resolve();
  }

  private hostsMade = false;

  /** A StatefulSet pod's stable name under the headless Service: `nats-0.nats`. */
  private podHost(pod: string): string {
    return `${pod}.${this.opts.service}`;
  }

  clientDial(): { host: string; port: number } {
    if (this.dial) return this.dial;
    if (this.opts.settings.service === 'headless')
      return { host: this.podHost(this.cluster.pods()[0]!.name), port: this.targetPort };
    return { host: this.plan.serviceIp, port: this.targetPort };
  }

  sites(): readonly ServerSite[] {
    return this.cluster.pods().map((p) => this.cluster.site(p));
  }

  onNewSite(start: (site: ServerSite) => Promise<void>): void {
    this.starter = start;
  }

  spawn(
    role: 'client' | 'server',
    argv: readonly string[],
    what: string,
    env?: Record<string, string>,
  ): LabProcess {
    if (role === 'server') return this.sites()[0]!.spawn(argv, what, env);
    return spawnHeld(this.teardowns, what, () => spawnInNamespace(this.clientNs, argv, env));
  }

  privateDir(): string {
    return this.sites()[0]!.dir();
  }

  writeFiles(files: Record<string, string>): void {
    this.sites()[0]!.writeFiles(files);
  }

  /** Read at the stop: also where the client's connection is then (a `conntrack` event). */
  async readCounters(): Promise<Map<string, number>> {
    // The experiment's stop: the control plane changes nothing more.
    await this.cluster.stop();
    const failed = this.cluster.failed();
    if (failed) throw failed;
    if (this.mark) {
      const flow = await this.establishedFlow();
      const pod = flow ? await this.flowPod(flow).catch(() => null) : null;
      this.mark({
        type: 'k8s',
        object: 'conntrack',
        name: pod?.name ?? '-',
        ip: pod?.ip ?? '',
        change: pod
          ? `at the stop the client's connection is on ${pod.name} (${pod.ip})`
          : "at the stop no conntrack entry on the client's node leads the client to a pod",
      });
    }
    return this.rules.read();
  }

  private mark: LiveExperiment['mark'] | null = null;

  /** Pods come back as Kubernetes brings them back: `--restart` is refused on kube. */
  gate(): Promise<void> {
    return Promise.reject(new LabError('internal: no restart gate on the kube testbed'));
  }

  failed(): Error | undefined {
    return this.cluster.failed();
  }

  async bindFault(live: LiveExperiment): Promise<BoundFault> {
    const fault = this.opts.fault;
    const flow = await this.establishedFlow();
    if (!flow)
      throw new LabError(
        `the client has no established connection to ${this.clientDial().host}:${this.clientDial().port} to apply the fault to`,
      );
    const pod = await this.flowPod(flow);
    this.mark = live.mark;
    this.cluster.watch(live.signal);
    const ctx: KubeFaultContext = {
      spec: live.spec,
      kube: this.cluster.control(live.mark),
      get target() {
        return live.target();
      },
      flow,
      flowPod: pod,
      mark: live.mark,
    };
    live.mark({
      type: 'k8s',
      object: 'conntrack',
      name: pod.name,
      ip: pod.ip,
      change: `${flow.client.address}:${flow.client.port} -> ${flow.server.address}:${flow.server.port} is on ${pod.name} (${pod.ip}:${this.targetPort})`,
    });
    return {
      flow,
      apply: () => fault.apply(ctx),
      ...(fault.heal ? { heal: () => fault.heal!(ctx) } : {}),
    };
  }

  /** The client's established connection, as its kernel lists it (`ss`). */
  private establishedFlow(): Promise<{ client: Endpoint; server: Endpoint } | null> {
    const dial = this.clientDial();
    const pod = this.cluster.pods().find((p) => this.podHost(p.name) === dial.host);
    return establishedTo(this.clientNs, pod?.ip ?? dial.host, dial.port);
  }

  /**
   * The pod the client's connection reaches: the reply source of its entry in the client node's
   * conntrack (the DNAT's destination). Behind a relay in the client's pod (port-forward), the
   * relay's own connection to a pod.
   */
  private async flowPod(flow: { client: Endpoint; server: Endpoint }): Promise<PodView> {
    const { stdout } = await run(
      inNs(this.clientNode, [
        'conntrack',
        '-L',
        '-p',
        'tcp',
        '--state',
        'ESTABLISHED',
        '-s',
        this.plan.podSlot(0, 0).pod,
      ]),
      { allowFail: true },
    );
    const entries = stdout
      .split('\n')
      .map((l) => /sport=(\d+) dport=(\d+) src=(\S+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && Number(m[2]) === this.targetPort);
    // Behind a relay in the client's pod (the flow ends on loopback), the relay's own entry.
    const relayed = flow.server.address.startsWith('127.');
    const own =
      entries.find((m) => Number(m[1]) === flow.client.port) ?? (relayed ? entries[0] : undefined);
    const pod = this.cluster.pods().find((p) => p.ip === own?.[3]);
    if (!pod)
      throw new LabError(
        `no conntrack entry on the client's node leads to a pod (${stdout.trim().slice(0, 200)})`,
      );
    return pod;
  }
}
