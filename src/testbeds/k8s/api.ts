/**
 * The only place the lab talks to a Kubernetes cluster: every request goes through this class,
 * over `@kubernetes/client-node` 1.x, and every failure leaves it as one of the lab's errors
 * (see `toLabError`), with the API server's own message in it.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Log,
  NetworkingV1Api,
  VersionApi,
  type VersionInfo,
  type V1ConfigMap,
  PatchStrategy,
  Watch,
  type KubernetesObject,
  Observable,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
  type V1EndpointSlice,
  type V1EphemeralContainer,
  type V1Job,
  type V1Node,
  type V1Pod,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { BadInputError, ClusterAccessError, LabError } from '../../errors.js';

/** One permission the run needs, as a SelfSubjectAccessReview asks it. */
export interface Access {
  readonly verb: string;
  /** The API group: '' for the core group. */
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  /** False for cluster-scoped resources (nodes, clusterroles); namespaced otherwise. */
  readonly namespaced?: boolean;
}

export interface ConnectOptions {
  readonly context?: string;
  readonly namespace?: string;
  /** A kubeconfig file; else KUBECONFIG, else ~/.kube/config. */
  readonly kubeconfig?: string;
  /** Use the pod's service account (the lab running inside the cluster). */
  readonly inCluster?: boolean;
}

export type WatchKind = 'pods' | 'endpointslices' | 'jobs';
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface WatchObjects {
  pods: V1Pod;
  endpointslices: V1EndpointSlice;
  jobs: V1Job;
}

/** How long preflight waits for the first answer: an unreachable server must not hang a run. */
const PREFLIGHT_TIMEOUT_MS = 10_000;
/** How often waitPodRunning reads the pod. */
const POD_POLL_MS = 500;

/** Why a container that waits will not start by itself: the image is the user's to fix. */
const IMAGE_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);
/** Waiting reasons that mean the container failed (not: is still starting). */
const FAILED_REASONS = new Set([
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** What deleteRun deletes, in order: the drivers first, so nothing recreates what goes next. */
const RUN_KINDS: readonly { apiVersion: string; kind: string; namespaced: boolean }[] = [
  { apiVersion: 'batch/v1', kind: 'Job', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', namespaced: true },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespaced: true },
  { apiVersion: 'v1', kind: 'Pod', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', namespaced: false },
];

/** Socket-level failures: the server is not there (or not this one), not an API answer. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

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

/** The patch types' header: client-node 1.x sends JSON Patch's unless told otherwise. */
const strategicMerge = (): ConfigurationOptions =>
  setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** Bounds a request by `signal` (client-node's requests have no timeout of their own). */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** The HTTP status and the API's Status fields of a failed request, when it got an answer. */
interface Failure {
  code?: number;
  reason?: string;
  message?: string;
}

function failureOf(err: unknown): Failure {
  if (err instanceof ApiException) {
    // client-node 1.x keeps the raw response text as the body; the API's Status is JSON in it.
    let body: unknown = (err as ApiException<unknown>).body;
    const text = typeof body === 'string' ? body : undefined;
    if (text !== undefined) {
      try {
        body = JSON.parse(text);
      } catch {
        body = { message: text.trim() || undefined };
      }
    }
    const status = (body ?? {}) as { reason?: string; message?: string };
    return { code: err.code, reason: status.reason, message: status.message };
  }
  // Watch reports a non-200 answer as an Error with `statusCode` and no body.
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? { code } : {};
}

const codeOf = (err: unknown): number | undefined => failureOf(err).code;

/** Why a request got no answer (node-fetch's `reason: …`), or undefined when it got one. */
function unreachableWhy(err: unknown): string | undefined {
  if (!(err instanceof Error) || err instanceof ApiException) return undefined;
  const e = err as Error & { code?: string; type?: string };
  if (e.name === 'AbortError' || e.type === 'aborted') return 'no answer (timed out)';
  if (e.type === 'system' || (e.code !== undefined && UNREACHABLE.has(e.code)))
    return /reason: (.*)$/.exec(e.message)?.[1] ?? e.message;
  return undefined;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

export class K8sApi {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly authz: AuthorizationV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly objects: NamespacedObjectApi;

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
  }

  /**
   * Loads the kubeconfig and picks the context and namespace. Makes no request: `preflight` is
   * the first. A missing kubeconfig is reported here, since client-node would otherwise fall back
   * to http://localhost:8080 and fail later with a confusing connection error.
   */
  static connect(opts: ConnectOptions = {}): K8sApi {
    const kc = new KubeConfig();
    try {
      if (opts.inCluster) {
        if (!process.env.KUBERNETES_SERVICE_HOST)
          throw new BadInputError(
            'in-cluster access needs KUBERNETES_SERVICE_HOST (set in pods): run inside a pod, or drop --in-cluster',
          );
        kc.loadFromCluster();
      } else {
        const files = kubeconfigFiles(opts.kubeconfig);
        const [first, ...rest] = files;
        if (first === undefined)
          throw new BadInputError(
            opts.kubeconfig !== undefined
              ? `no kubeconfig at ${opts.kubeconfig}: pass an existing file`
              : 'no kubeconfig: give --kubeconfig <file> or set KUBECONFIG, or create ~/.kube/config',
          );
        kc.loadFromFile(first);
        for (const file of rest) {
          // As kubectl: the first file that sets something wins, so merge keeping `first`'s context.
          const more = new KubeConfig();
          more.loadFromFile(file);
          kc.mergeConfig(more, true);
        }
      }
    } catch (err) {
      if (err instanceof BadInputError) throw err;
      throw new BadInputError(
        `cannot load the kubeconfig: ${(err as Error).message.split('\n')[0]}`,
      );
    }

    const names = kc.getContexts().map((c) => c.name);
    const known = names.length > 0 ? names.join(', ') : 'none';
    if (opts.context !== undefined) {
      if (!names.includes(opts.context))
        throw new BadInputError(`unknown context '${opts.context}' (the kubeconfig has: ${known})`);
      kc.setCurrentContext(opts.context);
    }
    const context = kc.getCurrentContext();
    const ctx = context ? kc.getContextObject(context) : null;
    if (!ctx)
      throw new BadInputError(
        `the kubeconfig has no current context: pass --context (one of: ${known})`,
      );
    const cluster = kc.getCurrentCluster();
    if (!cluster)
      throw new BadInputError(
        `context '${context}' names cluster '${ctx.cluster}', which the kubeconfig lacks`,
      );
    return new K8sApi(kc, context, opts.namespace ?? ctx.namespace ?? 'default', cluster.server);
  }

  // -------------------------------------------------------------------------------------------
  // Preflight

  /**
   * Checks, before the run creates anything, that the server answers, the namespace exists and
   * every permission in `needs` is granted, so that a run fails at once with what to fix rather
   * than half-built.
   */
  async preflight(needs: readonly Access[]): Promise<void> {
    try {
      await this.core.readNamespace(
        { name: this.namespace },
        withSignal(AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS)),
      );
    } catch (err) {
      const code = codeOf(err);
      if (code === 404)
        throw new BadInputError(
          `namespace '${this.namespace}' does not exist (kubectl create namespace ${this.namespace})`,
        );
      // Forbidden to read the namespace object itself: the server answered and knows the user,
      // which is all this step is for; the reviews below say what else is missing.
      if (code !== 403) throw this.toLabError(err, 'get', `namespaces/${this.namespace}`);
    }
    const missing: string[] = [];
    for (const need of needs) {
      const namespaced = need.namespaced !== false;
      let review;
      try {
        review = await this.authz.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                verb: need.verb,
                group: need.group,
                resource: need.resource,
                ...(need.subresource !== undefined ? { subresource: need.subresource } : {}),
                ...(namespaced ? { namespace: this.namespace } : {}),
              },
            },
          },
        });
      } catch (err) {
        throw this.toLabError(err, 'create', 'selfsubjectaccessreviews');
      }
      if (review.status?.allowed !== true) {
        const res = need.subresource ? `${need.resource}/${need.subresource}` : need.resource;
        missing.push(`${need.verb} ${res}`);
      }
    }
    if (missing.length > 0)
      throw new ClusterAccessError(
        `missing RBAC in namespace ${this.namespace}: ${missing.join(', ')} (apply: halfopen k8s rbac | kubectl apply -f -)`,
      );
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** Creates any object; without a namespace, a namespaced one goes into `this.namespace`. */
  async create<T extends KubernetesObject>(obj: T): Promise<T> {
    try {
      // A copy: client-node fills in metadata.namespace on the object it is given.
      return await this.objects.create(structuredClone(obj));
    } catch (err) {
      throw this.toLabError(err, 'create', `${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}`);
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
      throw this.toLabError(err, 'delete', `pods/${name}`);
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
      throw this.toLabError(err, 'create', `pods/${name}/eviction`);
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
      throw this.toLabError(err, 'patch', `nodes/${node}`);
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
      throw this.toLabError(err, 'patch', `statefulsets/${name}`);
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
      throw this.toLabError(err, 'patch', `pods/${pod}/ephemeralcontainers`);
    }
  }

  /**
   * Deletes every object that carries `selector`'s labels: listed first and deleted by name, so
   * nothing without the labels is touched. Returns `Kind/name` of each object deleted; one already
   * gone (the garbage collector may be first) is not an error.
   */
  async deleteRun(selector: string): Promise<string[]> {
    const deleted: string[] = [];
    const failed: string[] = [];
    for (const { apiVersion, kind, namespaced } of RUN_KINDS) {
      const namespace = namespaced ? this.namespace : undefined;
      let items: KubernetesObject[];
      try {
        const list = await this.objects.list(
          apiVersion,
          kind,
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          selector,
        );
        items = list.items;
      } catch (err) {
        failed.push(this.toLabError(err, 'list', kind).message);
        continue;
      }
      for (const item of items) {
        const name = item.metadata?.name;
        if (!name) continue;
        try {
          await this.objects.delete(
            { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } },
            undefined,
            undefined,
            undefined,
            undefined,
            // Background: a Job's pods (and a StatefulSet's) go with it, without waiting for them.
            'Background',
          );
          deleted.push(`${kind}/${name}`);
        } catch (err) {
          if (codeOf(err) !== 404)
            failed.push(this.toLabError(err, 'delete', `${kind}/${name}`).message);
        }
      }
    }
    if (failed.length > 0)
      throw new LabError(`deleted ${deleted.length} objects, but: ${failed.join('; ')}`);
    return deleted;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async readPod(name: string): Promise<V1Pod> {
    return this.call('get', `pods/${name}`, () =>
      this.core.readNamespacedPod({ name, namespace: this.namespace }),
    );
  }

  async listPods(labelSelector: string): Promise<V1Pod[]> {
    const list = await this.call('list', 'pods', () =>
      this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }),
    );
    return list.items;
  }

  async readNode(name: string): Promise<V1Node> {
    return this.call('get', `nodes/${name}`, () => this.core.readNode({ name }));
  }

  async listNodes(): Promise<V1Node[]> {
    return (await this.call('list', 'nodes', () => this.core.listNode())).items;
  }

  async readStatefulSet(name: string): Promise<V1StatefulSet> {
    return this.call('get', `statefulsets/${name}`, () =>
      this.apps.readNamespacedStatefulSet({ name, namespace: this.namespace }),
    );
  }

  async readService(name: string): Promise<V1Service> {
    return this.call('get', `services/${name}`, () =>
      this.core.readNamespacedService({ name, namespace: this.namespace }),
    );
  }

  /** Deletes one NetworkPolicy (404: gone already). */
  async deleteNetworkPolicy(name: string): Promise<void> {
    try {
      await this.networking.deleteNamespacedNetworkPolicy({ name, namespace: this.namespace });
    } catch (err) {
      if (codeOf(err) !== 404) throw this.toLabError(err, 'delete', `networkpolicies/${name}`);
    }
  }

  /** The API server's version (`/version`). */
  async serverVersion(): Promise<VersionInfo> {
    return this.call('get', 'version', () => this.kc.makeApiClient(VersionApi).getCode());
  }

  /** A ConfigMap of another namespace (kube-system's kube-proxy configuration). */
  async readConfigMapIn(namespace: string, name: string): Promise<V1ConfigMap> {
    return this.call('get', `configmaps/${name} in ${namespace}`, () =>
      this.core.readNamespacedConfigMap({ name, namespace }),
    );
  }

  async readJob(name: string): Promise<V1Job> {
    return this.call('get', `jobs/${name}`, () =>
      this.batch.readNamespacedJob({ name, namespace: this.namespace }),
    );
  }

  /** A Service's EndpointSlices: the ones labelled with its name. */
  async listEndpointSlices(serviceName: string): Promise<V1EndpointSlice[]> {
    const list = await this.call('list', 'endpointslices', () =>
      this.discovery.listNamespacedEndpointSlice({
        namespace: this.namespace,
        labelSelector: `kubernetes.io/service-name=${serviceName}`,
      }),
    );
    return list.items;
  }

  /** A container's whole log, as it is now. */
  async readLogs(pod: string, container: string): Promise<string> {
    return this.call('get', `pods/${pod}/log`, () =>
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
    const path = {
      pods: `/api/v1/namespaces/${this.namespace}/pods`,
      endpointslices: `/apis/discovery.k8s.io/v1/namespaces/${this.namespace}/endpointslices`,
      jobs: `/apis/batch/v1/namespaces/${this.namespace}/jobs`,
    }[kind];
    /** What the caller has been told exists, by uid: its resourceVersion. */
    const known = new Map<string, { rv: string; obj: WatchObjects[K] }>();
    const keyOf = (o: KubernetesObject): string => o.metadata?.uid ?? o.metadata?.name ?? '';

    const relist = async (): Promise<string> => {
      const list = await this.call('list', kind, () => this.listRaw(kind, labelSelector));
      const seen = new Set<string>();
      for (const item of list.items) {
        const obj = JSON.parse(JSON.stringify(item)) as WatchObjects[K];
        const key = keyOf(obj);
        const rv = obj.metadata?.resourceVersion ?? '';
        seen.add(key);
        const before = known.get(key);
        known.set(key, { rv, obj });
        if (!before) onEvent('ADDED', obj);
        else if (before.rv !== rv) onEvent('MODIFIED', obj);
      }
      for (const [key, { obj }] of known)
        if (!seen.has(key)) {
          known.delete(key);
          onEvent('DELETED', obj);
        }
      return list.metadata?.resourceVersion ?? '';
    };

    if (signal.aborted) return;
    let resourceVersion = await relist();
    let failures = 0;
    // client-node drops what the event callback throws; so the caller's error is kept here, the
    // watch stopped, and the error thrown from watch().
    const stopped = new AbortController();
    const both = AbortSignal.any([signal, stopped.signal]);
    let thrown: { error: unknown } | undefined;
    while (!both.aborted) {
      const ended = await this.watchOnce(
        path,
        labelSelector,
        resourceVersion,
        both,
        (type, obj) => {
          const rv = obj.metadata?.resourceVersion;
          if (rv) resourceVersion = rv;
          if (type === 'BOOKMARK' || thrown) return;
          const key = keyOf(obj);
          if (type === 'DELETED') known.delete(key);
          else known.set(key, { rv: rv ?? '', obj: obj as WatchObjects[K] });
          try {
            onEvent(type, obj as WatchObjects[K]);
          } catch (error) {
            thrown = { error };
            stopped.abort();
          }
        },
      );
      if (thrown) throw thrown.error;
      if (signal.aborted) return;
      if (ended === 'gone') {
        resourceVersion = await relist();
        failures = 0;
      } else if (ended === 'closed') {
        failures = 0;
      } else {
        // The request failed (no answer, or an error status): retry a few times, then give up.
        const code = codeOf(ended);
        if (code !== undefined && code >= 400 && code < 500 && code !== 429)
          throw this.toLabError(ended, 'watch', kind);
        if (++failures > 5) throw this.toLabError(ended, 'watch', kind);
        await sleep(200 * 2 ** failures, signal);
      }
    }
  }

  /** The list behind a watch, in the API's JSON form (see watch). */
  private listRaw(
    kind: WatchKind,
    labelSelector: string,
  ): Promise<{
    metadata?: { resourceVersion?: string };
    items: KubernetesObject[];
  }> {
    const namespace = this.namespace;
    if (kind === 'pods') return this.core.listNamespacedPod({ namespace, labelSelector });
    if (kind === 'jobs') return this.batch.listNamespacedJob({ namespace, labelSelector });
    return this.discovery.listNamespacedEndpointSlice({ namespace, labelSelector });
  }

  /**
   * One watch request: resolves 'closed' when the server ends it, 'gone' when the version has
   * expired, or the error that ended it.
   */
  private async watchOnce(
    path: string,
    labelSelector: string,
    resourceVersion: string,
    signal: AbortSignal,
    onEvent: (type: WatchEventType | 'BOOKMARK', obj: KubernetesObject) => void,
  ): Promise<'closed' | 'gone' | Error> {
    let gone = false;
    let stop: (() => void) | undefined;
    const ended = new Promise<'closed' | 'gone' | Error>((resolve) => {
      const watch = new Watch(this.kc);
      const query = { labelSelector, resourceVersion, allowWatchBookmarks: true };
      const started = watch.watch(
        path,
        query,
        (type: string, obj: KubernetesObject & { code?: number }) => {
          if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED' || type === 'BOOKMARK')
            onEvent(type, obj);
          else if (type === 'ERROR' && obj.code === 410) {
            gone = true;
            stop?.();
          }
        },
        (err: unknown) => {
          if (gone) resolve('gone');
          else if (err === null || err === undefined || signal.aborted) resolve('closed');
          else resolve(err instanceof Error ? err : new Error(JSON.stringify(err)));
        },
      );
      void started.then((controller) => {
        stop = () => controller.abort();
        if (signal.aborted) stop();
      });
    });
    const onAbort = (): void => stop?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await ended;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
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
    if (signal.aborted) return;
    const decoder = new StringDecoder('utf8');
    let partial = '';
    const take = (text: string): void => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    let flushed = false;
    const flush = (): void => {
      if (flushed) return;
      flushed = true;
      take(decoder.end());
      if (partial !== '') onLine(partial);
      partial = '';
    };
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        take(decoder.write(chunk));
        cb();
      },
    });
    // Log pipes the response into `sink`, which finishes when the log ends; an abort errors the
    // response instead, which does not end `sink`, so the abort ends the wait itself.
    const finished = new Promise<void>((resolve) => {
      sink.on('finish', resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    let controller: AbortController;
    try {
      controller = await new Log(this.kc).log(this.namespace, pod, container, sink, {
        follow: true,
        ...(opts.sinceTime ? { sinceTime: opts.sinceTime.toISOString() } : {}),
        ...(opts.timestamps !== undefined ? { timestamps: opts.timestamps } : {}),
      });
    } catch (err) {
      throw this.toLabError(err, 'get', `pods/${pod}/log`);
    }
    const onAbort = (): void => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) controller.abort();
    try {
      await finished;
    } finally {
      signal.removeEventListener('abort', onAbort);
      flush();
    }
  }

  /**
   * Waits until the pod runs with every container ready. Fails at once when it cannot: an image
   * that cannot be pulled (the user's to fix: BadInputError), a container that crashed or exited,
   * a pod the scheduler cannot place. A pod that does not exist yet is waited for (a StatefulSet
   * creates its pods after it).
   */
  async waitPodRunning(name: string, timeoutMs: number, signal: AbortSignal): Promise<V1Pod> {
    const until = performance.now() + timeoutMs;
    let last = 'not created yet';
    for (;;) {
      if (signal.aborted) throw new LabError(`stopped waiting for pod ${name}: aborted`);
      let pod: V1Pod | undefined;
      try {
        pod = await this.core.readNamespacedPod({ name, namespace: this.namespace });
      } catch (err) {
        if (codeOf(err) !== 404) throw this.toLabError(err, 'get', `pods/${name}`);
      }
      if (pod) {
        const state = podState(pod);
        if (state === true) return pod;
        if (state instanceof Error) throw state;
        last = state;
      }
      if (performance.now() >= until)
        throw new LabError(
          `pod ${name} not running after ${Math.round(timeoutMs / 1000)} s: ${last}`,
        );
      await sleep(Math.min(POD_POLL_MS, Math.max(0, until - performance.now())), signal);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Errors

  /** Runs one request, turning its failure into the lab's error. */
  private async call<T>(verb: string, what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.toLabError(err, verb, what);
    }
  }

  /**
   * The one mapping from client-node's failures to the lab's errors: no answer, bad credentials
   * and missing permissions are the user's to fix (ClusterAccessError, exit 2); anything else the
   * API refused is a LabError with the API's own message.
   */
  private toLabError(err: unknown, verb: string, what: string): Error {
    const why = unreachableWhy(err);
    if (why !== undefined)
      return new ClusterAccessError(
        `cannot reach the API server at ${this.server}: ${why} (check --context)`,
      );
    const { code, reason, message } = failureOf(err);
    const api = message ? `: ${message}` : '';
    if (code === undefined)
      return new LabError(
        `cannot ${verb} ${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      );
    if (code === 401)
      return new ClusterAccessError(
        `the API server at ${this.server} rejected the credentials of context '${this.context}'${api || ' (401 Unauthorized)'} (log in again, or pick another --context)`,
      );
    if (code === 403)
      return new ClusterAccessError(
        `not allowed to ${verb} ${what} in namespace ${this.namespace}${api} (apply: halfopen k8s rbac | kubectl apply -f -)`,
      );
    if (code === 409 && reason === 'AlreadyExists')
      return new LabError(`${what} already exists in namespace ${this.namespace}${api}`);
    if (code === 404) return new LabError(`cannot ${verb} ${what}: not found${api}`);
    return new LabError(`cannot ${verb} ${what}: HTTP ${code}${reason ? ` ${reason}` : ''}${api}`);
  }
}

/** The kubeconfig files to load, as kubectl finds them (existing ones only). */
function kubeconfigFiles(explicit: string | undefined): string[] {
  if (explicit !== undefined) return existsSync(explicit) ? [explicit] : [];
  const env = process.env.KUBECONFIG;
  if (env) return env.split(delimiter).filter((f) => f !== '' && existsSync(f));
  const home = join(process.env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

/** True once running and ready, else what the pod waits for, or the error it will not get past. */
function podState(pod: V1Pod): true | string | Error {
  const name = pod.metadata?.name ?? '?';
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && IMAGE_REASONS.has(waiting.reason))
      return new BadInputError(
        `image '${cs.image}' can't be pulled: ${waiting.message ?? waiting.reason} (build and push it: see the Dockerfile, then --image)`,
      );
    if (waiting?.reason && FAILED_REASONS.has(waiting.reason)) {
      const t = cs.lastState?.terminated;
      const detail = t
        ? `exit ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${t.message ? `: ${t.message.trim()}` : ''}`
        : (waiting.message ?? '');
      return new LabError(
        `container ${cs.name} of pod ${name} failed: ${waiting.reason}${detail ? `, ${detail}` : ''}`,
      );
    }
  }
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Failed' || phase === 'Succeeded') {
    const t = (pod.status?.containerStatuses ?? [])
      .map((cs) => ({ cs, t: cs.state?.terminated }))
      .find((x) => x.t);
    const detail = t?.t
      ? `: container ${t.cs.name} exit ${t.t.exitCode}${t.t.reason ? ` (${t.t.reason})` : ''}${t.t.message ? `: ${t.t.message.trim()}` : ''}`
      : pod.status?.message
        ? `: ${pod.status.message}`
        : '';
    return new LabError(`pod ${name} ended (${phase})${detail}`);
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable')
    return new LabError(`pod ${name} cannot be scheduled: ${scheduled.message ?? 'Unschedulable'}`);
  const containers = pod.status?.containerStatuses ?? [];
  if (phase === 'Running' && containers.length > 0 && containers.every((cs) => cs.ready))
    return true;
  const notReady = containers.filter((cs) => !cs.ready).map((cs) => cs.name);
  return `phase ${phase}${notReady.length > 0 ? `, not ready: ${notReady.join(', ')}` : ''}`;
}
