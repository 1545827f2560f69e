/**
 * Who may do what: the run's driver (its ServiceAccount, bound to a Role in the run's namespace),
 * the opt-in node access only node-drain and `k8s probe` need (a ClusterRole: nodes are
 * cluster-scoped), what the person running halfopen needs in the namespace, and what they need
 * cluster-wide to give a run node access. Each rule names one API group and one resource, so a
 * test can compare them whole and a reader can see which step uses which. Nothing is granted with
 * `*`.
 */
import type {
  IClusterRole,
  IClusterRoleBinding,
  IPolicyRule,
  IRole,
  IRoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IServiceAccount } from 'kubernetes-models/v1';
import { checkRun, clusterMeta, namespacedMeta } from './meta.js';
import { MANAGED_BY, runName, type RunRef } from './names.js';

const RBAC = 'rbac.authorization.k8s.io';

const rule = (apiGroup: string, resource: string, verbs: readonly string[]): IPolicyRule =>
  Object.freeze({
    apiGroups: Object.freeze([apiGroup]),
    resources: Object.freeze([resource]),
    verbs: Object.freeze([...verbs]),
  }) as IPolicyRule;

/** A copy the caller may change: the rule tables are frozen and shared. */
const copy = (rules: readonly IPolicyRule[]): IPolicyRule[] =>
  rules.map((r) => ({
    apiGroups: [...(r.apiGroups ?? [])],
    resources: [...(r.resources ?? [])],
    verbs: [...r.verbs],
  }));

/**
 * What the driver (the Job's pods) may do in the run's namespace: exactly this, each verb one the
 * driver calls (testbed.ts, control.ts, the k8s faults). It reads its experiments from the mounted
 * anchor (no configmaps), and deletes what it created by name (no list).
 */
export const DRIVER_RULES: readonly IPolicyRule[] = Object.freeze([
  // Wait for the target's pods to run (get), watch them (list, watch: ready, restarted, gone);
  // pod-delete and pod-force-delete delete one.
  rule('', 'pods', ['get', 'list', 'watch', 'delete']),
  // Stream the target's and the sink's logs into the run's results.
  rule('', 'pods/log', ['get']),
  // node-drain evicts the target's pod, as `kubectl drain` does (PodDisruptionBudgets apply).
  rule('', 'pods/eviction', ['create']),
  // The port-forward fault runs the real `kubectl port-forward` to the target's pod: kubectl
  // 1.31+ opens it over WebSockets, an HTTP GET that RBAC checks as `get`; it falls back to
  // SPDY's POST, checked as `create`.
  rule('', 'pods/portforward', ['get', 'create']),
  // Deploy each experiment's ClusterIP and headless Services; delete them by name after.
  rule('', 'services', ['create', 'delete']),
  // Deploy the target; rollout patches its pod template; delete it by name after.
  rule('apps', 'statefulsets', ['create', 'patch', 'delete']),
  // The control plane's view of the target's endpoints (a watch), beside what the client sees.
  rule('discovery.k8s.io', 'endpointslices', ['list', 'watch']),
  // The network-policy fault: a deny-all policy on the target's pods, deleted by name to heal.
  rule('networking.k8s.io', 'networkpolicies', ['create', 'delete']),
]);

/** The opt-in node-level permissions: cluster-scoped, so only in the ClusterRole. */
export const NODE_RULES: readonly IPolicyRule[] = Object.freeze([
  // node-drain cordons and uncordons the target's node; `k8s probe` reads the nodes.
  rule('', 'nodes', ['get', 'list', 'patch']),
]);

/** The same resources merged into one rule each, verbs in first-seen order. */
function mergeRules(...tables: (readonly IPolicyRule[])[]): readonly IPolicyRule[] {
  const merged = new Map<string, { group: string; resource: string; verbs: string[] }>();
  for (const r of tables.flat()) {
    const group = r.apiGroups?.[0] ?? '';
    const resource = r.resources?.[0] ?? '';
    const key = `${group}/${resource}`;
    const entry = merged.get(key) ?? { group, resource, verbs: [] };
    for (const v of r.verbs) if (!entry.verbs.includes(v)) entry.verbs.push(v);
    merged.set(key, entry);
  }
  return Object.freeze([...merged.values()].map((e) => rule(e.group, e.resource, e.verbs)));
}

/**
 * What the person running halfopen needs in the namespace: to create the run's objects, follow
 * the Job, gather the results and clean up. Kubernetes lets nobody create a Role (or bind one)
 * granting more than they hold themselves (RBAC's escalation check), so the driver's rules are
 * part of it: without them creating the driver's Role is refused.
 */
export const USER_RULES: readonly IPolicyRule[] = mergeRules(
  [
    // The anchor: created with the experiments, read back for its uid, deleted to clean up.
    rule('', 'configmaps', ['create', 'get', 'list', 'delete']),
    // The driver's identity and its Role (creating a Role needs the creator to hold its verbs).
    rule('', 'serviceaccounts', ['create', 'delete', 'list']),
    rule(RBAC, 'roles', ['create', 'delete', 'list']),
    rule(RBAC, 'rolebindings', ['create', 'delete', 'list']),
    // The matrix Job: created, followed to its end, deleted (nothing deletes it after a TTL).
    rule('batch', 'jobs', ['create', 'get', 'list', 'watch', 'delete']),
    // The driver's pods and their logs: where the results come from.
    rule('', 'pods', ['get', 'list', 'watch']),
    rule('', 'pods/log', ['get']),
    // `k8s watch` adds an ephemeral container to the user's own pod.
    rule('', 'pods/ephemeralcontainers', ['patch']),
    // The Job's events: why it made no driver pod (FailedCreate: a quota, Pod Security).
    rule('', 'events', ['list']),
    // `k8s watch --to <service>` reads the Service for its ClusterIP and port.
    rule('', 'services', ['get']),
    // Cleanup of what a killed driver left behind (the anchor's garbage collection does the rest).
    rule('apps', 'statefulsets', ['list', 'delete']),
    rule('', 'services', ['list', 'delete']),
    rule('networking.k8s.io', 'networkpolicies', ['list', 'delete']),
  ],
  DRIVER_RULES,
);

/**
 * What the user needs, cluster-wide, to give a run node access: to create the run's ClusterRole
 * (NODE_RULES) and its binding, and delete them at cleanup (found by label: list). RBAC's
 * escalation check asks the creator of a ClusterRole, and of a binding to it, to hold its verbs
 * already: NODE_RULES are part of it.
 */
export const USER_NODE_RULES: readonly IPolicyRule[] = mergeRules(NODE_RULES, [
  rule(RBAC, 'clusterroles', ['create', 'list', 'delete']),
  rule(RBAC, 'clusterrolebindings', ['create', 'list', 'delete']),
]);

/** The driver's ServiceAccount, its Role (DRIVER_RULES) and the binding between them. */
export function driverAccess(run: RunRef): [IServiceAccount, IRole, IRoleBinding] {
  checkRun(run);
  const name = runName(run.runId);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: namespacedMeta(run, name, 'access') },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'Role',
      metadata: namespacedMeta(run, name, 'access'),
      rules: copy(DRIVER_RULES),
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: namespacedMeta(run, name, 'access'),
      roleRef: { apiGroup: RBAC, kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: run.namespace }],
    },
  ];
}

/**
 * The opt-in node access, for the run's ServiceAccount. Cluster-scoped: it carries the run's
 * labels but no owner (see clusterMeta), so cleanup deletes it by label. Creating it needs
 * cluster-level rights the namespaced USER_RULES do not give: it is asked for only when used.
 */
export function nodeAccess(run: RunRef): [IClusterRole, IClusterRoleBinding] {
  checkRun(run);
  const name = runName(run.runId);
  return [
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRole',
      metadata: clusterMeta(run, name, 'access'),
      rules: copy(NODE_RULES),
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: clusterMeta(run, name, 'access'),
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: run.namespace }],
    },
  ];
}

/**
 * USER_RULES as a Role an administrator applies once per namespace (and binds to the user). Not
 * of any run: it carries managed-by only, which no run's cleanup selects (runSelector).
 */
export function userRole(namespace: string): IRole {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'Role',
    metadata: { name: 'halfopen-user', namespace, labels: { [MANAGED_BY]: 'halfopen' } },
    rules: copy(USER_RULES),
  };
}

/**
 * USER_NODE_RULES as a ClusterRole an administrator applies once (and binds to the user, with a
 * ClusterRoleBinding) for runs with node access (`halfopen k8s rbac --node-access`). Of no run:
 * it carries managed-by only, which no run's cleanup selects.
 */
export function userNodeRole(): IClusterRole {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRole',
    metadata: { name: 'halfopen-user-nodes', labels: { [MANAGED_BY]: 'halfopen' } },
    rules: copy(USER_NODE_RULES),
  };
}
