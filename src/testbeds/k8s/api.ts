/**
 * The only place the lab talks to a Kubernetes cluster: every request goes through this class,
 * over `@kubernetes/client-node` 1.x, and every failure leaves it as one of the lab's errors
 * (see `toLabError` in api-support.ts), with the API server's own message in it. The work of
 * connecting, the streams and the pod lifecycle is in api-connect.ts, api-watch.ts and
 * api-pods.ts; this file is the class, and what callers import.
 */
import {
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  VersionApi,
  type VersionInfo,
  type V1ConfigMap,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1EphemeralContainer,
  type V1Job,
  type V1Node,
  type V1Pod,
  type V1Service,
  type CoreV1Event,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { LabError } from '../../errors.js';
import {
  loadKubeConfig,
  preflight,
  type Access,
  type ConnectOptions,
  type PreflightClients,
} from './api-connect.js';
import { deleteRun, waitPodRunning, type PodClients } from './api-pods.js';
import { call, codeOf, failureOf, strategicMerge, toLabError } from './api-support.js';
import {
  streamLogs,
  watch,
  type StreamClients,
  type WatchEventType,
  type WatchKind,
  type WatchObjects,
} from './api-watch.js';

export type { Access, ConnectOptions } from './api-connect.js';
export type { WatchEventType, WatchKind, WatchObjects } from './api-watch.js';

/**
 * KubernetesObjectApi puts objects without a namespace in the context's namespace; the lab's is
 * `K8sApi.namespace` (which `--namespace` may override), so it is set here.
 */
class NamespacedObjectApi extends KubernetesObjectApi {
  useNamespace(namespace: string): this {
    this.defaultNamespace = namespace;
    return this;
  }
}

export class K8sApi {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly authz: AuthorizationV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly objects: NamespacedObjectApi;
  /** What the functions of api-connect.ts, api-pods.ts and api-watch.ts use of this class. */
  private readonly clients: PreflightClients & PodClients & StreamClients;

  private constructor(
    private readonly kc: KubeConfig,
    readonly context: string,
    readonly namespace: string,
    readonly server: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
    this.authz = kc.makeApiClient(AuthorizationV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
    this.objects = kc.makeApiClient(NamespacedObjectApi).useNamespace(namespace);
    this.clients = {
      kc,
      context,
      namespace,
      server,
      core: this.core,
      batch: this.batch,
      discovery: this.discovery,
      authz: this.authz,
      objects: this.objects,
    };
  }

  /**
   * Loads the kubeconfig and picks the context and namespace. Makes no request: `preflight` is
   * the first. A missing kubeconfig is reported here, since client-node would otherwise fall back
   * to http://localhost:8080 and fail later with a confusing connection error.
   */
  static connect(opts: ConnectOptions = {}): K8sApi {
    const { kc, context, namespace, server } = loadKubeConfig(opts);
    return new K8sApi(kc, context, namespace, server);
  }

  // -------------------------------------------------------------------------------------------
  // Preflight

  /**
   * Checks, before the run creates anything, that the server answers, the namespace exists and
   * every permission in `needs` is granted, so that a run fails at once with what to fix rather
   * than half-built.
   */
  async preflight(needs: readonly Access[]): Promise<void> {
    return preflight(this.clients, needs);
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** Creates any object; without a namespace, a namespaced one goes into `this.namespace`. */
  async create<T extends KubernetesObject>(obj: T): Promise<T> {
    try {
      // A copy: client-node fills in metadata.namespace on the object it is given.
      return await this.objects.create(structuredClone(obj));
    } catch (err) {
      throw toLabError(this, err, 'create', `${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}`);
    }
  }

  /**
   * Deletes a pod, with the pod's own grace period unless one is given (0: at once, as
   * `kubectl delete --force --grace-period=0`). False if it was already gone.
   */
  async deletePod(name: string, gracePeriodSeconds?: number): Promise<boolean> {
    try {
      await this.core.deleteNamespacedPod({
        name,
        namespace: this.namespace,
        ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
      });
      return true;
    } catch (err) {
      if (codeOf(err) === 404) return false;
      throw toLabError(this, err, 'delete', `pods/${name}`);
    }
  }

  /** Evicts a pod through the Eviction API, as a node drain does (PodDisruptionBudgets apply). */
  async evictPod(name: string): Promise<void> {
    try {
      await this.core.createNamespacedPodEviction({
        name,
        namespace: this.namespace,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name, namespace: this.namespace },
        },
      });
    } catch (err) {
      // The API answers 429 while an eviction would break a PodDisruptionBudget.
      if (codeOf(err) === 429)
        throw new LabError(
          `a PodDisruptionBudget blocks evicting pod ${name}: ${failureOf(err).message ?? 'too many requests'}`,
        );
      throw toLabError(this, err, 'create', `pods/${name}/eviction`);
    }
  }

  /** Marks a node (un)schedulable, as `kubectl cordon` / `uncordon`. */
  async cordon(node: string, unschedulable: boolean): Promise<void> {
    try {
      await this.core.patchNode(
        { name: node, body: { spec: { unschedulable } } },
        strategicMerge(),
      );
    } catch (err) {
      throw toLabError(this, err, 'patch', `nodes/${node}`);
    }
  }

  /**
   * Restarts a StatefulSet's pods as `kubectl rollout restart` does: a new template annotation
   * makes a new revision. The time keeps its milliseconds (kubectl's has seconds) so that two
   * restarts within a second still differ.
   */
  async restartStatefulSet(name: string, at: Date): Promise<void> {
    const body = {
      spec: {
        template: {
          metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at.toISOString() } },
        },
      },
    };
    try {
      await this.apps.patchNamespacedStatefulSet(
        { name, namespace: this.namespace, body },
        strategicMerge(),
      );
    } catch (err) {
      throw toLabError(this, err, 'patch', `statefulsets/${name}`);
    }
  }

  /** Adds an ephemeral container to a running pod, as `kubectl debug` does. */
  async addEphemeralContainer(pod: string, container: V1EphemeralContainer): Promise<void> {
    try {
      await this.core.patchNamespacedPodEphemeralcontainers(
        {
          name: pod,
          namespace: this.namespace,
          body: { spec: { ephemeralContainers: [container] } },
        },
        strategicMerge(),
      );
    } catch (err) {
      throw toLabError(this, err, 'patch', `pods/${pod}/ephemeralcontainers`);
    }
  }

  /**
   * Deletes every object that carries `selector`'s labels: listed first and deleted by name, so
   * nothing without the labels is touched. Returns `Kind/name` of each object deleted; one already
   * gone (the garbage collector may be first) is not an error. ClusterRoles and their bindings
   * (cluster-scoped: only a run with node access has them) are looked for when `clusterScoped`
   * says so; `if-allowed` skips them where the user may not list them (cleanup).
   */
  async deleteRun(
    selector: string,
    clusterScoped: 'yes' | 'no' | 'if-allowed' = 'no',
  ): Promise<string[]> {
    return deleteRun(this.clients, selector, clusterScoped);
  }

  /**
   * Deletes one object by its kind and name (its dependents in the background); one already gone
   * is not an error. What the driver uses: it may delete what it created, not list the namespace.
   */
  async deleteObject(
    obj: KubernetesObject,
    propagation: 'Background' | 'Foreground' = 'Background',
  ): Promise<void> {
    const what = `${obj.kind}/${obj.metadata?.name}`;
    try {
      await this.objects.delete(
        {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          metadata: { name: obj.metadata?.name, namespace: this.namespace },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        propagation,
      );
    } catch (err) {
      if (codeOf(err) !== 404) throw toLabError(this, err, 'delete', what);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async readPod(name: string): Promise<V1Pod> {
    return call(this, 'get', `pods/${name}`, () =>
      this.core.readNamespacedPod({ name, namespace: this.namespace }),
    );
  }

  async listPods(labelSelector: string): Promise<V1Pod[]> {
    const list = await call(this, 'list', 'pods', () =>
      this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }),
    );
    return list.items;
  }

  async readNode(name: string): Promise<V1Node> {
    return call(this, 'get', `nodes/${name}`, () => this.core.readNode({ name }));
  }

  async listNodes(): Promise<V1Node[]> {
    return (await call(this, 'list', 'nodes', () => this.core.listNode())).items;
  }

  async readStatefulSet(name: string): Promise<V1StatefulSet> {
    return call(this, 'get', `statefulsets/${name}`, () =>
      this.apps.readNamespacedStatefulSet({ name, namespace: this.namespace }),
    );
  }

  /** The namespace's events matching `fieldSelector` (`involvedObject.name=<job>`). */
  async listEvents(fieldSelector: string): Promise<CoreV1Event[]> {
    const list = await call(this, 'list', 'events', () =>
      this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector }),
    );
    return list.items;
  }

  async readService(name: string): Promise<V1Service> {
    return call(this, 'get', `services/${name}`, () =>
      this.core.readNamespacedService({ name, namespace: this.namespace }),
    );
  }

  /** Deletes one NetworkPolicy (404: gone already). */
  async deleteNetworkPolicy(name: string): Promise<void> {
    try {
      await this.networking.deleteNamespacedNetworkPolicy({ name, namespace: this.namespace });
    } catch (err) {
      if (codeOf(err) !== 404) throw toLabError(this, err, 'delete', `networkpolicies/${name}`);
    }
  }

  /** The API server's version (`/version`). */
  async serverVersion(): Promise<VersionInfo> {
    return call(this, 'get', 'version', () => this.kc.makeApiClient(VersionApi).getCode());
  }

  /** A ConfigMap of another namespace (kube-system's kube-proxy configuration). */
  async readConfigMapIn(namespace: string, name: string): Promise<V1ConfigMap> {
    return call(this, 'get', `configmaps/${name} in ${namespace}`, () =>
      this.core.readNamespacedConfigMap({ name, namespace }),
    );
  }

  async readJob(name: string): Promise<V1Job> {
    return call(this, 'get', `jobs/${name}`, () =>
      this.batch.readNamespacedJob({ name, namespace: this.namespace }),
    );
  }

  /** A Service's EndpointSlices: the ones labelled with its name. */
  async listEndpointSlices(serviceName: string): Promise<V1EndpointSlice[]> {
    const list = await call(this, 'list', 'endpointslices', () =>
      this.discovery.listNamespacedEndpointSlice({
        namespace: this.namespace,
        labelSelector: `kubernetes.io/service-name=${serviceName}`,
      }),
    );
    return list.items;
  }

  /** A container's whole log, as it is now. */
  async readLogs(pod: string, container: string): Promise<string> {
    return call(this, 'get', `pods/${pod}/log`, () =>
      this.core.readNamespacedPodLog({ name: pod, namespace: this.namespace, container }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Streams

  /**
   * Reports every change of the objects `labelSelector` selects until `signal` aborts. Lists
   * first (each object found is an ADDED event) and watches from the list's resourceVersion; the
   * API server ends watches after a timeout, so a watch that ends is resumed from the last
   * resourceVersion seen. When that version has expired (410 Gone) it lists again and reports the
   * differences, so no change is lost or reported twice.
   *
   * Objects arrive in the API's JSON form (timestamps are strings), listed ones too.
   */
  async watch<K extends WatchKind>(
    kind: K,
    labelSelector: string,
    onEvent: (type: WatchEventType, obj: WatchObjects[K]) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return watch(this.clients, kind, labelSelector, onEvent, signal);
  }

  /**
   * Follows a container's log, calling `onLine` for each line (without its newline). Lines split
   * across chunks are joined; a last line without a newline is reported when the stream ends.
   * Resolves when the log ends (the container exited) or `signal` aborts.
   */
  async streamLogs(
    pod: string,
    container: string,
    onLine: (line: string) => void,
    signal: AbortSignal,
    opts: { sinceTime?: Date; timestamps?: boolean } = {},
  ): Promise<void> {
    return streamLogs(this.clients, pod, container, onLine, signal, opts);
  }

  /**
   * Waits until the pod runs with every container ready. Fails at once when it cannot: an image
   * that cannot be pulled (the user's to fix: BadInputError), a container that crashed or exited,
   * a pod the scheduler cannot place. A pod that does not exist yet is waited for (a StatefulSet
   * creates its pods after it).
   */
  async waitPodRunning(name: string, timeoutMs: number, signal: AbortSignal): Promise<V1Pod> {
    return waitPodRunning(this.clients, name, timeoutMs, signal);
  }
}
