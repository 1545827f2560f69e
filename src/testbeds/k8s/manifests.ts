/**
 * The objects a run creates on a real cluster, as plain data: the anchor ConfigMap (the
 * experiments, and the owner of everything else), the driver's access, the matrix Job whose
 * indexed pods each run one experiment, each experiment's target (a StatefulSet behind a ClusterIP
 * Service, with a headless Service for stable pod names), the network-policy fault's deny-all
 * policy, and the container `k8s watch` adds to the user's own pod. Pure: the k8s testbed sends
 * them through the API; toYaml prints them for `kubectl apply -f -`.
 *
 * The image's entrypoint is the CLI (`ENTRYPOINT ["halfopen"]`, see the Dockerfile): containers
 * give args only.
 */
import type { IStatefulSet } from 'kubernetes-models/apps/v1';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type {
  IConfigMap,
  IContainer,
  IEnvVar,
  IEphemeralContainer,
  IService,
  IServicePort,
  IVolume,
  IVolumeMount,
} from 'kubernetes-models/v1';
import { BadInputError } from '../../errors.js';
import { PROTOCOLS, type TargetName } from '../../protocols/index.js';
import { checkInt, checkRun, namespacedMeta } from './meta.js';
import {
  EXPERIMENTS_DIR,
  EXPERIMENTS_KEY,
  experimentName,
  headlessName,
  runLabels,
  runName,
  targetSelector,
  type RunRef,
} from './names.js';
import { IMAGE_UID, awayFromDrivers, containerSecurity, podSecurity, resources } from './pods.js';

export {
  DRIVER_RULES,
  NODE_RULES,
  USER_NODE_RULES,
  USER_RULES,
  driverAccess,
  nodeAccess,
  userNodeRole,
  userRole,
} from './rbac.js';
export { checkRestricted, toYaml, validateEphemeralContainer, validateObject } from './validate.js';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** The experiments file, as every lab container sees it. */
export const EXPERIMENTS_FILE = `${EXPERIMENTS_DIR}/${EXPERIMENTS_KEY}`;

const EXPERIMENTS_VOLUME = 'experiments';

/** The anchor mounted read-only: every container reads its experiment from the same file. */
const experimentsVolume = (runId: string): IVolume => ({
  name: EXPERIMENTS_VOLUME,
  configMap: { name: runName(runId) },
});
const experimentsMount = (): IVolumeMount => ({
  name: EXPERIMENTS_VOLUME,
  mountPath: EXPERIMENTS_DIR,
  readOnly: true,
});

/** An env var the kubelet fills from the pod's own object (the downward API). */
const fromPod = (name: string, fieldPath: string): IEnvVar => ({
  name,
  valueFrom: { fieldRef: { fieldPath } },
});

const pullPolicy = (p: PullPolicy | undefined): { imagePullPolicy?: PullPolicy } =>
  p === undefined ? {} : { imagePullPolicy: p };

/** The anchor: the run's experiments, and (by its uid) the owner of every namespaced object. */
export function anchorConfigMap(run: RunRef, experimentsJson: string): IConfigMap {
  checkRun(run);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: namespacedMeta(run, runName(run.runId), 'anchor', { owned: false }),
    data: { [EXPERIMENTS_KEY]: experimentsJson },
  };
}

export interface JobOptions {
  /** One completion index per experiment. */
  completions: number;
  parallelism: number;
  image: string;
  imagePullPolicy?: PullPolicy;
  /** The whole matrix's deadline: past it Kubernetes stops every pod still running. */
  activeDeadlineSeconds: number;
}

/**
 * The driver: an Indexed Job, one completion per experiment (Kubernetes gives each pod its
 * JOB_COMPLETION_INDEX), run as the run's ServiceAccount. The driver deploys its experiment's
 * target, runs the client and the faults, and writes the result to its log.
 */
export function matrixJob(run: RunRef, o: JobOptions): IJob {
  checkRun(run);
  checkInt('completions', o.completions, 1, 100_000);
  checkInt('parallelism', o.parallelism, 1);
  checkInt('activeDeadlineSeconds', o.activeDeadlineSeconds, 1);
  const name = runName(run.runId);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: namespacedMeta(run, name, 'driver'),
    spec: {
      completionMode: 'Indexed',
      completions: o.completions,
      parallelism: o.parallelism,
      // An experiment is not retried: a second attempt would meet a target that already lived
      // through the fault, and measure something else. backoffLimit counts the failures of all
      // indexes together: one driver pod that fails ends the Job and Kubernetes stops the others,
      // so a driver exits 0 for every outcome it measured and fails only when the lab did.
      backoffLimit: 0,
      // ...except a driver pod the cluster took away: evicted (node pressure, a drain), preempted,
      // or deleted with a lost node. Kubernetes marks such a pod with the DisruptionTarget
      // condition; it measured nothing, and without this rule its failure would count against
      // backoffLimit 0 and end the whole Job. Ignored, it is not counted and its index runs again
      // in a new pod. (podFailurePolicy needs the template's restartPolicy Never; beta and on by
      // default from Kubernetes 1.26, GA in 1.31.)
      podFailurePolicy: {
        rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }],
      },
      activeDeadlineSeconds: o.activeDeadlineSeconds,
      // No ttlSecondsAfterFinished: the CLI reads the pods' logs, then deletes the Job itself.
      template: {
        metadata: { labels: runLabels(run.runId, 'driver') },
        spec: {
          serviceAccountName: name,
          restartPolicy: 'Never',
          securityContext: podSecurity(),
          // One env var per Service in the namespace is noise, and with many experiments a lot.
          enableServiceLinks: false,
          containers: [
            {
              name: 'driver',
              image: o.image,
              ...pullPolicy(o.imagePullPolicy),
              args: ['k8s', 'job', '--experiments', EXPERIMENTS_FILE],
              env: [
                { name: 'HALFOPEN_RUN', value: run.runId },
                fromPod('HALFOPEN_NAMESPACE', 'metadata.namespace'),
                { name: 'HALFOPEN_ANCHOR_UID', value: run.anchorUid ?? '' },
                // The targets run the driver's own image: the same lab on both ends.
                { name: 'HALFOPEN_IMAGE', value: o.image },
              ],
              resources: resources(),
              securityContext: containerSecurity(),
              volumeMounts: [experimentsMount()],
            },
          ],
          volumes: [experimentsVolume(run.runId)],
        },
      },
    },
  };
}

/** One experiment's target, as the driver deploys it. */
export interface TargetPlan {
  target: TargetName;
  /** The port the target listens on (and its Services expose). */
  port: number;
  replicas: number;
  /** Run the protocol's sink beside the target, in the same pod. */
  sink: boolean;
  image: string;
  imagePullPolicy?: PullPolicy;
  /** How long the kubelet waits after SIGTERM before SIGKILL. */
  gracePeriodSeconds: number;
  /** A preStop sleep: the pod stays serving while the endpoints learn it is going. 0: none. */
  preStopSeconds: number;
}

function checkPlan(t: TargetPlan): void {
  const def = PROTOCOLS[t.target];
  checkInt('port', t.port, 1, 65_535);
  checkInt(`${t.target} replicas`, t.replicas, 1, def.target.maxReplicas);
  checkInt('grace period (s)', t.gracePeriodSeconds, 0);
  // The API server refuses a sleep longer than the grace period that would cut it short.
  checkInt('preStop sleep (s)', t.preStopSeconds, 0, t.gracePeriodSeconds);
  if (t.sink && def.sink === null) {
    throw new BadInputError(`${t.target} has no sink: the target counts deliveries itself`);
  }
}

/**
 * The target's StatefulSet (stable pod names, which a NATS cluster's routes need), its ClusterIP
 * Service (what the client dials, through kube-proxy) and its headless Service (each replica's
 * DNS name).
 */
export function targetObjects(
  run: RunRef,
  index: number,
  t: TargetPlan,
): [IStatefulSet, IService, IService] {
  checkRun(run);
  checkInt('experiment index', index, 0);
  checkPlan(t);
  const name = experimentName(run.runId, index);
  const headless = headlessName(run.runId, index);
  const serve = (role: 'target' | 'sink'): string[] => [
    'k8s',
    'serve',
    role,
    '--experiments',
    EXPERIMENTS_FILE,
    '--index',
    String(index),
  ];
  // What both containers know of where they run (the target's cluster name, its peers' names).
  const env = (): IEnvVar[] => [
    { name: 'HALFOPEN_RUN', value: run.runId },
    fromPod('HALFOPEN_NAMESPACE', 'metadata.namespace'),
    fromPod('HALFOPEN_POD_NAME', 'metadata.name'),
    fromPod('HALFOPEN_POD_IP', 'status.podIP'),
  ];
  const target: IContainer = {
    name: 'target',
    image: t.image,
    ...pullPolicy(t.imagePullPolicy),
    args: serve('target'),
    ports: [{ name: 'target', containerPort: t.port, protocol: 'TCP' }],
    env: env(),
    // Probed every second: the endpoints follow the target's readiness within about a second,
    // and the lab times what the client sees against them.
    readinessProbe: { tcpSocket: { port: t.port }, periodSeconds: 1 },
    // The kubelet's own sleep (PodLifecycleSleepAction, GA in 1.32): no shell in the way, and
    // nothing in the container that could end it early.
    ...(t.preStopSeconds > 0
      ? { lifecycle: { preStop: { sleep: { seconds: t.preStopSeconds } } } }
      : {}),
    resources: resources(),
    securityContext: containerSecurity(),
    volumeMounts: [experimentsMount()],
  };
  // The sink shares the pod's network namespace: it reaches the broker on 127.0.0.1, a path no
  // fault on the pod's interface or Service touches.
  const sink: IContainer = {
    name: 'sink',
    image: t.image,
    ...pullPolicy(t.imagePullPolicy),
    args: serve('sink'),
    env: env(),
    resources: resources(),
    securityContext: containerSecurity(),
    volumeMounts: [experimentsMount()],
  };
  const port: IServicePort = { name: 'target', port: t.port, targetPort: t.port, protocol: 'TCP' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: namespacedMeta(run, name, 'target', { index }),
      spec: {
        serviceName: headless,
        // All replicas at once: a NATS cluster forms only when its peers exist, and an ordered
        // start would wait for a readiness that needs them.
        podManagementPolicy: 'Parallel',
        replicas: t.replicas,
        selector: { matchLabels: targetSelector(run.runId, index) },
        template: {
          metadata: { labels: runLabels(run.runId, 'target', index) },
          spec: {
            terminationGracePeriodSeconds: t.gracePeriodSeconds,
            enableServiceLinks: false,
            // The target never calls the API: it gets no token.
            automountServiceAccountToken: false,
            securityContext: podSecurity(),
            affinity: awayFromDrivers(run.runId),
            containers: t.sink ? [target, sink] : [target],
            volumes: [experimentsVolume(run.runId)],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: namespacedMeta(run, name, 'target', { index }),
      spec: {
        type: 'ClusterIP',
        selector: targetSelector(run.runId, index),
        ports: [{ ...port }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: namespacedMeta(run, headless, 'target', { index }),
      spec: {
        clusterIP: 'None',
        // A NATS cluster's routes resolve their peers' names before any of them is ready.
        publishNotReadyAddresses: true,
        selector: targetSelector(run.runId, index),
        ports: [{ ...port }],
      },
    },
  ];
}

/**
 * The network-policy fault: every packet to and from the target's pods dropped, both ways (no
 * rule is a deny). Loopback is never filtered, so the sink keeps its broker. Whether the kubelet's
 * probes still pass is the network plugin's choice: most let a node reach its own pods.
 */
export function denyAllPolicy(run: RunRef, index: number): INetworkPolicy {
  checkRun(run);
  checkInt('experiment index', index, 0);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: namespacedMeta(run, `${experimentName(run.runId, index)}-deny`, 'policy', { index }),
    spec: {
      podSelector: { matchLabels: targetSelector(run.runId, index) },
      policyTypes: ['Ingress', 'Egress'],
    },
  };
}

/**
 * A deny-all NetworkPolicy on pods of the user's own (`k8s watch --fault network-policy`): they
 * are chosen by the user's labels; the policy carries the watch session's.
 */
export function denySelected(
  run: RunRef,
  name: string,
  matchLabels: Record<string, string>,
): INetworkPolicy {
  checkRun(run);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: namespacedMeta(run, name, 'policy'),
    spec: { podSelector: { matchLabels: { ...matchLabels } }, policyTypes: ['Ingress', 'Egress'] },
  };
}

export interface WatchOptions {
  name: string;
  image: string;
  imagePullPolicy?: PullPolicy;
  /** The container whose process namespace it joins (its processes and their /proc). */
  targetContainer?: string;
  args: string[];
}

/**
 * `halfopen k8s watch`: an ephemeral container added to the user's own pod. It shares the pod's
 * network namespace, so /proc/net/tcp lists the pod's own sockets; reading it needs no privilege
 * and no capability, so none is asked. Ephemeral containers take no ports, probes, lifecycle or
 * resources (the API refuses them): it has none. Its securityContext passes `restricted` on its
 * own: the user's pod may set no pod-level context for it to inherit (Pod Security admission
 * checks the ephemeral container against the namespace's level when it is added), so it names
 * the image's user itself.
 */
export function watchContainer(o: WatchOptions): IEphemeralContainer {
  return {
    name: o.name,
    image: o.image,
    ...pullPolicy(o.imagePullPolicy),
    args: [...o.args],
    stdin: false,
    tty: false,
    securityContext: { ...containerSecurity(), runAsUser: IMAGE_UID, runAsGroup: IMAGE_UID },
    ...(o.targetContainer !== undefined ? { targetContainerName: o.targetContainer } : {}),
  };
}
