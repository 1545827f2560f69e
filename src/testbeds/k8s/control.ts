/**
 * What a fault may do to a real cluster (ClusterControl), over the API: each call is marked on
 * the timeline when it returns, and what a call leaves behind (a cordon, a policy) is undone at
 * teardown. What the cluster then does comes back through the testbed's watches.
 */
import { spawn } from 'node:child_process';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeSettings } from '../../core/kube.js';
import type { LabProcess } from '../../core/process.js';
import type { KubeObject } from '../../events.js';
import { LabError } from '../../errors.js';
import type { ClusterControl, ClusterPod } from '../../faults/types.js';
import type { Teardowns } from '../../util/teardown.js';
import { denyAllPolicy, validateObject } from './manifests.js';
import type { RunRef } from './names.js';
import type { K8sRunOptions } from './plan.js';
import type { LogSource } from './pod-process.js';

/** What the testbed needs of the cluster's API (api.ts's K8sApi). */
export interface ClusterApi extends LogSource {
  readonly namespace: string;
  create<T extends KubernetesObject>(obj: T): Promise<T>;
  /** Deletes one object it created (404: gone already). */
  deleteObject(obj: KubernetesObject): Promise<void>;
  deletePod(name: string, gracePeriodSeconds?: number): Promise<boolean>;
  evictPod(name: string): Promise<void>;
  cordon(node: string, unschedulable: boolean): Promise<void>;
  readNode(name: string): Promise<{ spec?: { unschedulable?: boolean } }>;
  restartStatefulSet(name: string, at: Date): Promise<void>;
  watch(
    kind: 'pods' | 'endpointslices',
    labelSelector: string,
    onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: object) => void,
    signal: AbortSignal,
  ): Promise<void>;
  waitPodRunning(name: string, timeoutMs: number, signal: AbortSignal): Promise<object>;
}

/** The cluster an experiment runs in, as the driver in its pod knows it. */
export interface ClusterRun {
  runId: string;
  api: ClusterApi;
  image: string;
  imagePullPolicy?: K8sRunOptions['imagePullPolicy'];
  anchorUid?: string;
}

export interface ControlDeps {
  api: ClusterApi;
  run: RunRef;
  index: number;
  statefulSet: string;
  settings: KubeSettings;
  teardowns: Teardowns;
  pods: () => ClusterPod[];
  event: (
    object: KubeObject & ('pod' | 'endpoint' | 'node' | 'policy' | 'forward'),
    name: string,
    change: string,
  ) => void;
  spawn: (argv: readonly string[], what: string) => LabProcess;
}

/** How long the user's hook may run. */
const HOOK_MS = 120_000;

export function clusterControl(d: ControlDeps): ClusterControl {
  return {
    namespace: d.api.namespace,
    settings: d.settings,
    pods: d.pods,
    async deletePod(name, gracePeriodSeconds) {
      await d.api.deletePod(name, gracePeriodSeconds);
      d.event(
        'pod',
        name,
        gracePeriodSeconds === undefined
          ? 'DELETE sent (its own grace period)'
          : gracePeriodSeconds === 0
            ? 'DELETE sent (gracePeriodSeconds=0: forced)'
            : `DELETE sent (gracePeriodSeconds=${gracePeriodSeconds})`,
      );
    },
    async evictPod(name) {
      await d.api.evictPod(name);
      d.event('pod', name, 'eviction accepted (policy/v1 Eviction)');
    },
    async cordon(node) {
      // A node someone else cordoned stays as they left it.
      if ((await d.api.readNode(node)).spec?.unschedulable) {
        d.event('node', node, 'already cordoned (left so)');
        return;
      }
      d.teardowns.defer(`uncordon ${node}`, () => d.api.cordon(node, false));
      await d.api.cordon(node, true);
      d.event('node', node, 'cordoned (unschedulable)');
    },
    async denyAll() {
      const policy = denyAllPolicy(d.run, d.index);
      validateObject(policy);
      d.teardowns.defer(`delete NetworkPolicy/${policy.metadata?.name}`, () =>
        d.api.deleteObject(policy as KubernetesObject),
      );
      await d.api.create(policy as KubernetesObject);
      d.event('policy', policy.metadata?.name ?? 'deny', 'deny-all NetworkPolicy created');
    },
    async rolloutRestart() {
      await d.api.restartStatefulSet(d.statefulSet, new Date());
      d.event('pod', d.statefulSet, 'rollout restart (template annotation restartedAt)');
    },
    async runHook(command, env) {
      const child = spawn('/bin/sh', ['-c', command], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...env },
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => {
        stderr = (stderr + s).slice(-2000);
      });
      const code = await new Promise<number | string>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), HOOK_MS);
        child.on('exit', (c, sig) => {
          clearTimeout(timer);
          resolve(c ?? sig ?? 'unknown');
        });
        child.on('error', (err) => {
          clearTimeout(timer);
          stderr += err.message;
          resolve('spawn-error');
        });
      });
      if (code !== 0)
        throw new LabError(
          `the hook '${command}' failed (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`,
        );
      d.event('node', env.HALFOPEN_NODE ?? '-', `hook ran: ${command}`);
    },
    spawnInDriver: d.spawn,
    event: (object, name, change) => d.event(object as 'pod', name, change),
  };
}
