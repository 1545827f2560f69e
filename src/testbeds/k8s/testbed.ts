/**
 * The k8s testbed: an experiment on a real cluster, run by the driver, in a pod of that cluster.
 *
 *   driver pod (the Job's)                     target pods (a StatefulSet)
 *   [client] [runner] ---- Service ---------> [target | sink] ho-<run>-<i>-0
 *       |        |   (ClusterIP or headless)   [target | sink] ho-<run>-<i>-1 ...
 *       |        +--- API: deploy, watch pods and EndpointSlices, stream logs, inject the fault
 *       one clock: the client is the driver's child; the target's and sink's events are stamped
 *       as their log lines arrive
 *
 * Everything an experiment creates carries its run's and its own labels, and is deleted at its
 * teardown by those labels (and by the anchor's garbage collection if the driver dies).
 */
import { spawnHeld } from '../held.js';
import { lookup } from 'node:dns/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Endpoint } from '../../events.js';
import type {
  ClusterControl,
  ClusterPod,
  K8sFaultContext,
  K8sFaultImpl,
} from '../../faults/types.js';
import type { FaultSpec } from '../../faults/spec.js';
import type { KubeSettings } from '../../core/kube.js';
import type { LabProcess } from '../../core/process.js';
import { LabError } from '../../errors.js';
import { sleep } from '../../util/clock.js';
import type { Teardowns } from '../../util/teardown.js';
import type { BoundFault, LiveExperiment, ServerSite, Testbed } from '../types.js';
import { spawnLab } from '../netns/exec.js';
import { establishedTo } from '../netns/plumbing.js';
import { targetObjects, validateObject } from './manifests.js';
import { EXPERIMENT_LABEL, experimentName, runSelector, type RunRef } from './names.js';
import { replicaHost, targetPlan } from './plan.js';
import { clusterControl, type ClusterApi, type ClusterRun } from './control.js';

export type { ClusterApi, ClusterRun };

import { podProcess } from './pod-process.js';
import {
  endpointChanges,
  endpointStates,
  endpointsIn,
  podChanges,
  podState,
  type EndpointState,
  type PodObject,
  type PodState,
  type SliceObject,
} from './watch-events.js';

export interface K8sOptions extends ClusterRun {
  index: number;
  spec: FaultSpec;
  settings: KubeSettings;
  fault: K8sFaultImpl;
  targetPort: number;
}

/** How long what a disrupted run left may take to go before this one's is created. */
const RECREATE_MS = 60_000;

/** How long a target pod may take to be scheduled, pulled and ready. */
const POD_READY_MS = 300_000;

export class K8sTestbed implements Testbed {
  readonly name = 'k8s' as const;
  readonly targetHost = '0.0.0.0';
  readonly targetPort: number;
  private readonly run: RunRef;
  private readonly sts: string;
  private serviceIp = '';
  private readonly watches = new AbortController();
  private readonly podStates = new Map<string, PodState>();
  private endpoints = new Map<string, EndpointState>();
  private readonly slices = new Map<string, SliceObject>();
  /** Client endpoints (`ip:port`) each pod's target logged, newest last. */
  private readonly seen = new Map<string, string>();
  private siteList: ServerSite[] = [];
  private readonly started = new Set<string>();
  private startSite: ((site: ServerSite) => Promise<void>) | null = null;
  private mark: LiveExperiment['mark'] | null = null;
  private error: Error | undefined;
  private dial: { host: string; port: number } | null = null;

  private constructor(
    private readonly opts: K8sOptions,
    private readonly teardowns: Teardowns,
  ) {
    this.targetPort = opts.targetPort;
    this.run = {
      runId: opts.runId,
      namespace: opts.api.namespace,
      ...(opts.anchorUid ? { anchorUid: opts.anchorUid } : {}),
    };
    this.sts = experimentName(opts.runId, opts.index);
  }

  /** The label selector of this experiment's objects. */
  private get selector(): string {
    return `${runSelector(this.opts.runId)},${EXPERIMENT_LABEL}=${this.opts.index}`;
  }

  static async create(opts: K8sOptions, teardowns: Teardowns): Promise<K8sTestbed> {
    const bed = new K8sTestbed(opts, teardowns);
    await bed.build();
    return bed;
  }

  private async build(): Promise<void> {
    const { api, index } = this.opts;
    const objects = targetObjects(
      this.run,
      index,
      targetPlan(
        this.opts.spec as Parameters<typeof targetPlan>[0],
        this.opts.image,
        this.opts.imagePullPolicy,
      ),
    );
    // Each deleted by name at teardown, registered before it exists: the driver's Role may delete
    // what it created, not list the namespace (and the anchor's garbage collection is behind it).
    for (const o of objects) {
      validateObject(o);
      this.teardowns.defer(`delete ${o.kind}/${o.metadata?.name}`, () =>
        api.deleteObject(o as KubernetesObject),
      );
    }
    this.teardowns.deferFirst('stop the watches', () => this.watches.abort());
    const [, service] = await Promise.all(
      objects.map((o) => this.createFresh(o as KubernetesObject)),
    );
    this.serviceIp = (service as { spec?: { clusterIP?: string } }).spec?.clusterIP ?? '';
    this.startWatches();
    const replicas = this.opts.settings.replicas;
    const pods = await Promise.all(
      [...Array(replicas).keys()].map((r) =>
        api.waitPodRunning(`${this.sts}-${r}`, POD_READY_MS, this.watches.signal),
      ),
    );
    for (const p of pods) {
      const state = podState(p);
      this.podStates.set(state.name, state);
    }
    this.siteList = pods.map((p, r) => this.site(podState(p as PodObject), r));
    for (const s of this.siteList) this.started.add(this.podStates.get(s.name)?.uid ?? '');
    const prepared = await this.opts.fault.prepare?.(this.control(), this.opts.spec);
    this.dial = prepared ?? null;
  }

  /**
   * Creates an object; one of the same name already there is what a disrupted first run of this
   * index left (the Job runs it again, and a lost driver ran no teardown): it goes first.
   */
  private async createFresh(o: KubernetesObject): Promise<KubernetesObject> {
    const { api } = this.opts;
    for (const until = Date.now() + RECREATE_MS; ;) {
      try {
        return await api.create(o);
      } catch (err) {
        if (!(err instanceof Error && / already exists /.test(err.message)) || Date.now() > until)
          throw err;
        await api.deleteObject(o);
        await sleep(1000, this.watches.signal);
      }
    }
  }

  /** The pod and EndpointSlice watches: the cluster's own account of what happens. */
  private startWatches(): void {
    const { api } = this.opts;
    const signal = this.watches.signal;
    const failed = (what: string) => (err: unknown) => {
      if (!signal.aborted)
        this.error ??= new LabError(
          `the ${what} watch failed: ${err instanceof Error ? err.message : String(err)}`,
        );
    };
    api
      .watch('pods', this.selector, (type, obj) => this.onPod(type, obj as PodObject), signal)
      .catch(failed('pod'));
    api
      .watch(
        'endpointslices',
        `kubernetes.io/service-name=${this.sts}`,
        (type, obj) => this.onSlice(type, obj as SliceObject & { metadata?: { name?: string } }),
        signal,
      )
      .catch(failed('EndpointSlice'));
  }

  private onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: PodObject): void {
    const after = podState(obj);
    if (!after.name || !after.name.startsWith(`${this.sts}-`)) return;
    const before = this.podStates.get(after.name);
    const changes = podChanges(
      before,
      after,
      type === 'DELETED',
      obj.metadata?.deletionGracePeriodSeconds,
    );
    if (type === 'DELETED') {
      if (before?.uid === after.uid) this.podStates.delete(after.name);
    } else this.podStates.set(after.name, after);
    for (const change of changes) this.event('pod', after.name, change);
    // A replacement (a new uid under an old name, or a new name), once ready: the target and a
    // broker's sink are attached like the first ones.
    if (type !== 'DELETED' && after.ready && after.ip && !this.started.has(after.uid)) {
      this.started.add(after.uid);
      const replica = Number(/-(\d+)$/.exec(after.name)?.[1] ?? '0');
      const site = this.site(after, replica);
      this.siteList = [...this.siteList.filter((s) => s.name !== after.name), site];
      this.startSite?.(site).catch((err: unknown) => {
        this.error ??= err instanceof Error ? err : new LabError(String(err));
      });
    }
  }

  private onSlice(
    type: 'ADDED' | 'MODIFIED' | 'DELETED',
    obj: SliceObject & { metadata?: { name?: string } },
  ): void {
    const name = obj.metadata?.name ?? '';
    if (type === 'DELETED') this.slices.delete(name);
    else this.slices.set(name, obj);
    const after = endpointStates([...this.slices.values()]);
    for (const c of endpointChanges(this.endpoints, after))
      this.event('endpoint', c.name, c.change);
    this.endpoints = after;
  }

  private event(
    object: 'pod' | 'endpoint' | 'node' | 'policy' | 'forward',
    name: string,
    change: string,
  ): void {
    if (this.mark) this.mark({ type: 'k8s', object, name, change });
    // Before the fault is bound the timeline is not the testbed's to mark: kept, and marked then
    // (what prepare did: a port-forward started).
    else if (object === 'forward') this.early.push({ object, name, change });
  }

  private readonly early: { object: 'forward'; name: string; change: string }[] = [];

  private site(pod: PodState, replica: number): ServerSite {
    const { api, index, runId } = this.opts;
    const replicas = this.opts.settings.replicas;
    return {
      name: pod.name,
      pod: pod.name,
      address: pod.ip,
      replica,
      peers: [...Array(replicas).keys()]
        .filter((r) => r !== replica)
        .map((r) => replicaHost(runId, index, r)),
      // The container writes its own config (k8s serve): nothing to write from here.
      dir: () => '',
      writeFiles: () => undefined,
      // The kubelet started the container with the same argv (serve.ts): attach to it.
      spawn: (_argv, what) =>
        podProcess(
          api,
          pod,
          what.startsWith('sink') ? 'sink' : 'target',
          this.watches.signal,
          (line) => {
            if (!what.startsWith('sink'))
              for (const ep of endpointsIn(line)) this.seen.set(ep, pod.name);
          },
        ),
    };
  }

  clientDial(): { host: string; port: number } {
    if (this.dial) return this.dial;
    const ns = this.opts.api.namespace;
    const host =
      this.opts.settings.service === 'headless'
        ? `${replicaHost(this.opts.runId, this.opts.index, 0)}.${ns}.svc`
        : `${this.sts}.${ns}.svc`;
    return { host, port: this.targetPort };
  }

  spawn(
    role: 'client' | 'server',
    argv: readonly string[],
    what: string,
    env?: Record<string, string>,
  ): LabProcess {
    if (role === 'server') return this.sites()[0]!.spawn(argv, what, env);
    return spawnHeld(this.teardowns, what, () => spawnLab(argv, env));
  }

  sites(): readonly ServerSite[] {
    return this.siteList;
  }

  onNewSite(start: (site: ServerSite) => Promise<void>): void {
    this.startSite = start;
  }

  privateDir(): string {
    return '';
  }

  writeFiles(): void {
    // The pods write their own (k8s serve).
  }

  /** A real cluster's wire has no counters the lab can read. */
  readCounters(): Promise<Map<string, number>> {
    if (this.error) return Promise.reject(this.error);
    return Promise.resolve(new Map<string, number>());
  }

  gate(): Promise<void> {
    return Promise.reject(new LabError('internal: no restart gate on the k8s testbed'));
  }

  failed(): Error | undefined {
    return this.error;
  }

  private controlOnce: ClusterControl | null = null;

  /** One control for the experiment: what `prepare` starts, `apply` finds again through it. */
  private control(): ClusterControl {
    return (this.controlOnce ??= clusterControl({
      api: this.opts.api,
      run: this.run,
      index: this.opts.index,
      statefulSet: this.sts,
      settings: this.opts.settings,
      teardowns: this.teardowns,
      pods: () => this.pods(),
      event: (object, name, change) => this.event(object, name, change),
      spawn: (argv, what) => this.spawn('client', argv, what),
    }));
  }

  private pods(): ClusterPod[] {
    return [...this.podStates.values()]
      .filter((p) => p.ip)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(({ name, uid, ip, node }) => ({ name, uid, ip, node }));
  }

  async bindFault(live: LiveExperiment): Promise<BoundFault> {
    const fault = this.opts.fault;
    const flow = await this.establishedFlow();
    if (!flow)
      throw new LabError(
        `the client has no established connection to ${this.clientDial().host}:${this.clientDial().port} to apply the fault to`,
      );
    this.mark = live.mark;
    for (const e of this.early.splice(0))
      live.mark({ type: 'k8s', ...e, change: `${e.change} (at the setup)` });
    const flowPod = this.flowPod(flow);
    const ctx: K8sFaultContext = {
      spec: live.spec,
      cluster: this.control(),
      get target() {
        return live.target();
      },
      flow,
      flowPod,
      mark: live.mark,
    };
    live.mark({
      type: 'k8s',
      object: 'pod',
      name: flowPod?.name ?? '-',
      ...(flowPod ? { ip: flowPod.ip } : {}),
      change: flowPod
        ? `${flow.client.address}:${flow.client.port} -> ${flow.server.address}:${flow.server.port} is on ${flowPod.name} (${flowPod.ip}), as its target logged it`
        : `${flow.client.address}:${flow.client.port} -> ${flow.server.address}:${flow.server.port}: no target logged this client (source NAT in the path?)`,
    });
    return {
      flow,
      apply: () => fault.apply(ctx),
      ...(fault.heal ? { heal: () => fault.heal!(ctx) } : {}),
    };
  }

  /** The client's established connection, as the driver's own kernel lists it (`ss`). */
  private async establishedFlow(): Promise<{ client: Endpoint; server: Endpoint } | null> {
    const dial = this.clientDial();
    const host =
      dial.host === `${this.sts}.${this.opts.api.namespace}.svc` && this.serviceIp
        ? this.serviceIp
        : (await lookup(dial.host, { family: 4 }).catch(() => ({ address: dial.host }))).address;
    const viaService = await establishedTo(null, host, dial.port);
    if (viaService) return viaService;
    // Where the CNI translates a Service at connect() (Cilium's socket load balancing), the
    // socket's peer is the pod itself.
    for (const pod of this.pods()) {
      const direct = await establishedTo(null, pod.ip, dial.port);
      if (direct) return direct;
    }
    return null;
  }

  /** The pod whose target logged the client's own address and port; the only pod if just one. */
  private flowPod(flow: { client: Endpoint }): ClusterPod | null {
    const name = this.seen.get(`${flow.client.address}:${flow.client.port}`);
    const pods = this.pods();
    return pods.find((p) => p.name === name) ?? (pods.length === 1 ? pods[0]! : null);
  }
}
