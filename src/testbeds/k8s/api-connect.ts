/**
 * Getting to a cluster, for K8sApi: loading the kubeconfig (as kubectl finds it) and picking the
 * context and namespace, then the preflight that checks, before a run creates anything, that the
 * server answers and grants what the run needs.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type AuthorizationV1Api, type CoreV1Api } from '@kubernetes/client-node';
import { BadInputError, ClusterAccessError } from '../../errors.js';
import { codeOf, toLabError, withSignal, type Target } from './api-support.js';

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

/** What preflight uses of K8sApi. */
export interface PreflightClients extends Target {
  readonly core: CoreV1Api;
  readonly authz: AuthorizationV1Api;
}

/** How long preflight waits for the first answer: an unreachable server must not hang a run. */
const PREFLIGHT_TIMEOUT_MS = 10_000;

/**
 * K8sApi.connect's work: the loaded kubeconfig, the context and namespace picked, and the
 * server. Makes no request. A missing kubeconfig is reported here, since client-node would
 * otherwise fall back to http://localhost:8080 and fail later with a confusing connection error.
 */
export function loadKubeConfig(opts: ConnectOptions): {
  kc: KubeConfig;
  context: string;
  namespace: string;
  server: string;
} {
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
    throw new BadInputError(`cannot load the kubeconfig: ${(err as Error).message.split('\n')[0]}`);
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
  return {
    kc,
    context,
    namespace: opts.namespace ?? ctx.namespace ?? 'default',
    server: cluster.server,
  };
}

/** The kubeconfig files to load, as kubectl finds them (existing ones only). */
function kubeconfigFiles(explicit: string | undefined): string[] {
  if (explicit !== undefined) return existsSync(explicit) ? [explicit] : [];
  const env = process.env.KUBECONFIG;
  if (env) return env.split(delimiter).filter((f) => f !== '' && existsSync(f));
  const home = join(process.env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

/** K8sApi.preflight's work (see there). */
export async function preflight(api: PreflightClients, needs: readonly Access[]): Promise<void> {
  const namespace = api.namespace;
  try {
    await api.core.readNamespace(
      { name: namespace },
      withSignal(AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS)),
    );
  } catch (err) {
    const code = codeOf(err);
    if (code === 404)
      throw new BadInputError(
        `namespace '${namespace}' does not exist (kubectl create namespace ${namespace})`,
      );
    // Forbidden to read the namespace object itself: the server answered and knows the user,
    // which is all this step is for; the reviews below say what else is missing.
    if (code !== 403) throw toLabError(api, err, 'get', `namespaces/${namespace}`);
  }
  const missing: string[] = [];
  let clusterWide = false;
  for (const need of needs) {
    const namespaced = need.namespaced !== false;
    let review;
    try {
      review = await api.authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              verb: need.verb,
              group: need.group,
              resource: need.resource,
              ...(need.subresource !== undefined ? { subresource: need.subresource } : {}),
              ...(namespaced ? { namespace } : {}),
            },
          },
        },
      });
    } catch (err) {
      throw toLabError(api, err, 'create', 'selfsubjectaccessreviews');
    }
    if (review.status?.allowed !== true) {
      const res = need.subresource ? `${need.resource}/${need.subresource}` : need.resource;
      missing.push(`${need.verb} ${res}`);
      if (need.namespaced === false) clusterWide = true;
    }
  }
  // Cluster-wide rights (node access) come from the ClusterRole `k8s rbac --node-access` prints.
  if (missing.length > 0)
    throw new ClusterAccessError(
      `missing RBAC in namespace ${namespace}: ${missing.join(', ')} (apply: halfopen k8s rbac${clusterWide ? ' --node-access' : ''} | kubectl apply -f -)`,
    );
}
