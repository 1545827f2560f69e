/**
 * Every object checked before it is sent (or printed): first against the API's own schema (the
 * kubernetes-models class of its kind), then against what that schema does not say but the API
 * server refuses: names and label values of the right shape and length, a StatefulSet name short
 * enough for its pods' controller-revision-hash label, a preStop sleep inside the grace period,
 * nothing an ephemeral container may not have. A refusal found here names the object; one found by
 * the API server would come mid-run, after half the run's objects exist.
 */
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import {
  ConfigMap,
  EphemeralContainer,
  Pod,
  Service,
  ServiceAccount,
  type IContainer,
  type IEphemeralContainer,
  type IPodSpec,
  type ISecurityContext,
} from 'kubernetes-models/v1';
import { stringify } from 'yaml';
import { LabError } from '../../errors.js';
import { DNS_LABEL, type ObjectMeta } from './meta.js';

interface Checked {
  validate(): void;
}

/** The kinds the lab creates, by `<apiVersion>/<kind>`, each with its schema and scope. */
const KINDS: Record<string, { model: (o: never) => Checked; cluster?: true }> = {
  'v1/ConfigMap': { model: (o) => new ConfigMap(o) },
  'v1/ServiceAccount': { model: (o) => new ServiceAccount(o) },
  'v1/Service': { model: (o) => new Service(o) },
  'v1/Pod': { model: (o) => new Pod(o) },
  'rbac.authorization.k8s.io/v1/Role': { model: (o) => new Role(o) },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: (o) => new RoleBinding(o) },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: (o) => new ClusterRole(o), cluster: true },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    model: (o) => new ClusterRoleBinding(o),
    cluster: true,
  },
  'batch/v1/Job': { model: (o) => new Job(o) },
  'apps/v1/StatefulSet': { model: (o) => new StatefulSet(o) },
  'networking.k8s.io/v1/NetworkPolicy': { model: (o) => new NetworkPolicy(o) },
};

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A Service's name becomes a DNS label that must start with a letter (RFC 1035). */
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** 63 for a pod name, less the `-` and 10-character hash the controller-revision-hash adds. */
const STATEFULSET_NAME_MAX = 52;
/** The grace period a pod gets when it names none. */
const DEFAULT_GRACE_SECONDS = 30;

/** The first thing the schema says is wrong, with where: enough to find it. */
function firstSchemaMessage(err: unknown): string {
  const first = (
    err as {
      errors?: { instancePath?: string; message?: string; params?: { allowedValues?: unknown } }[];
    }
  ).errors?.[0];
  if (first === undefined) return err instanceof Error ? err.message : String(err);
  const allowed = Array.isArray(first.params?.allowedValues)
    ? ` (${first.params.allowedValues.join(', ')})`
    : '';
  return `${first.instancePath || '/'} ${first.message ?? 'is invalid'}${allowed}`;
}

function labelProblem(key: string, value: unknown): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (prefix !== '' && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key ${key}: its prefix is not a DNS subdomain`;
  }
  if (name === '' || name.length > 63 || !LABEL_VALUE.test(name)) {
    return `label key ${key}: its name is not 1-63 letters, digits, -, _ or .`;
  }
  if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
    return `label ${key}=${JSON.stringify(value)}: not 0-63 letters, digits, -, _ or ., alphanumeric at both ends`;
  }
  return undefined;
}

type LabelMap = Record<string, unknown> | undefined;

/** Every label map of the object: its own, its pod template's, its selectors'. */
function labelMaps(o: Record<string, unknown>): LabelMap[] {
  const spec = (o.spec ?? {}) as {
    template?: { metadata?: { labels?: LabelMap } };
    selector?: Record<string, unknown> & { matchLabels?: LabelMap };
    podSelector?: { matchLabels?: LabelMap };
  };
  const selector = o.kind === 'Service' ? spec.selector : spec.selector?.matchLabels;
  return [
    (o.metadata as ObjectMeta | undefined)?.labels,
    spec.template?.metadata?.labels,
    selector,
    spec.podSelector?.matchLabels,
  ];
}

/** What the API refuses in an ephemeral container (it is never restarted, probed or sized). */
function ephemeralProblem(c: IEphemeralContainer): string | undefined {
  if (!DNS_LABEL.test(c.name) || c.name.length > 63) return `name ${c.name}: not a DNS-1123 label`;
  for (const field of [
    'ports',
    'livenessProbe',
    'readinessProbe',
    'startupProbe',
    'lifecycle',
    'resources',
  ] as const) {
    if (c[field] !== undefined) return `an ephemeral container may not have ${field}`;
  }
  return undefined;
}

/** What the API refuses in a pod's spec that the schema lets through. */
function podSpecProblem(spec: IPodSpec | undefined): string | undefined {
  if (spec === undefined) return undefined;
  const grace = spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  const containers: IContainer[] = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  for (const c of containers) {
    if (!DNS_LABEL.test(c.name) || c.name.length > 63) {
      return `container ${c.name}: not a DNS-1123 label`;
    }
    const sleep = c.lifecycle?.preStop?.sleep?.seconds;
    if (sleep !== undefined && (sleep < 0 || sleep > grace)) {
      return `container ${c.name}: preStop sleep ${sleep}s outside the grace period (${grace}s)`;
    }
  }
  for (const c of spec.ephemeralContainers ?? []) {
    const problem = ephemeralProblem(c);
    if (problem !== undefined) return `ephemeral container ${c.name}: ${problem}`;
  }
  return undefined;
}

function ownProblem(o: Record<string, unknown>, cluster: boolean): string | undefined {
  const meta = (o.metadata ?? {}) as ObjectMeta;
  const name = meta.name ?? '';
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) return `name ${name}: not a DNS subdomain`;
  if (o.kind === 'Service' && (name.length > 63 || !DNS_1035.test(name))) {
    return `name ${name}: not a DNS-1035 label of at most 63 characters`;
  }
  if (o.kind === 'StatefulSet' && name.length > STATEFULSET_NAME_MAX) {
    return `name ${name}: longer than ${STATEFULSET_NAME_MAX} characters`;
  }
  if (cluster && (meta.namespace !== undefined || meta.ownerReferences !== undefined)) {
    return 'a cluster-scoped object has no namespace and no namespaced owner';
  }
  if (!cluster && !DNS_LABEL.test(meta.namespace ?? '')) {
    return `namespace ${meta.namespace ?? '(none)'}: not a DNS-1123 label`;
  }
  for (const map of labelMaps(o)) {
    for (const [key, value] of Object.entries(map ?? {})) {
      const problem = labelProblem(key, value);
      if (problem !== undefined) return problem;
    }
  }
  const spec = o.spec as { template?: { spec?: IPodSpec } } | undefined;
  return podSpecProblem(o.kind === 'Pod' ? (o.spec as IPodSpec) : spec?.template?.spec);
}

/** The volume types `restricted` allows (anything else, hostPath first, is refused). */
const RESTRICTED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

/** A seccomp profile `restricted` accepts where one is required. */
const confined = (p: { type?: string } | undefined): boolean =>
  p?.type === 'RuntimeDefault' || p?.type === 'Localhost';

/** What `restricted` refuses in one container's securityContext, and the lab's own rule. */
function containerRestrictedProblem(sc: ISecurityContext | undefined): string | undefined {
  if (sc === undefined) return 'no securityContext';
  if (sc.privileged === true) return 'privileged';
  if (sc.allowPrivilegeEscalation !== false) return 'allowPrivilegeEscalation is not false';
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) return 'capabilities do not drop ALL';
  const added = (sc.capabilities?.add ?? []).filter((c) => c !== 'NET_BIND_SERVICE');
  if (added.length > 0) return `capabilities add ${added.join(', ')}`;
  // The standard accepts these at the pod's level instead; the lab sets them on every container
  // too, so that a container read alone (an ephemeral one in a pod not the lab's) still passes.
  if (sc.runAsNonRoot !== true) return 'runAsNonRoot is not true';
  if (sc.runAsUser === 0) return 'runAsUser is 0 (root)';
  if (!confined(sc.seccompProfile)) return 'seccompProfile is not RuntimeDefault or Localhost';
  if (sc.procMount !== undefined && sc.procMount !== 'Default') return `procMount ${sc.procMount}`;
  return undefined;
}

/**
 * Throws LabError unless the pod spec passes the `restricted` Pod Security Standard
 * (https://kubernetes.io/docs/concepts/security/pod-security-standards/), as a namespace labelled
 * pod-security.kubernetes.io/enforce=restricted admits pods: none of the host's namespaces
 * (network, PID, IPC), ports or paths; only the volume types in RESTRICTED_VOLUMES; and on every
 * container, init and ephemeral ones included: not privileged, allowPrivilegeEscalation false,
 * capabilities dropping ALL (adding at most NET_BIND_SERVICE), runAsNonRoot true and runAsUser not
 * 0, and a RuntimeDefault or Localhost seccomp profile. The standard takes runAsNonRoot and seccomp
 * from the pod's level for a container that sets neither; the lab asks them of each container.
 * What the pod's own securityContext says must not contradict them.
 */
export function checkRestricted(spec: IPodSpec): void {
  const problem = ((): string | undefined => {
    for (const host of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
      if (spec[host] === true) return `${host} is true`;
    }
    const pod = spec.securityContext;
    if (pod?.runAsNonRoot === false) return 'the pod: runAsNonRoot is false';
    if (pod?.runAsUser === 0) return 'the pod: runAsUser is 0 (root)';
    if (pod?.seccompProfile !== undefined && !confined(pod.seccompProfile)) {
      return `the pod: seccompProfile ${pod.seccompProfile.type}`;
    }
    for (const v of spec.volumes ?? []) {
      const types = Object.keys(v).filter((k) => k !== 'name');
      const bad = types.find((t) => !RESTRICTED_VOLUMES.includes(t));
      if (bad !== undefined) return `volume ${v.name}: ${bad} is not allowed`;
    }
    const all: (IContainer | IEphemeralContainer)[] = [
      ...(spec.initContainers ?? []),
      ...spec.containers,
      ...(spec.ephemeralContainers ?? []),
    ];
    for (const c of all) {
      if ((c.ports ?? []).some((p) => p.hostPort !== undefined && p.hostPort !== 0)) {
        return `container ${c.name}: a hostPort`;
      }
      const cp = containerRestrictedProblem(c.securityContext);
      if (cp !== undefined) return `container ${c.name}: ${cp}`;
    }
    return undefined;
  })();
  if (problem !== undefined) throw new LabError(`not restricted: ${problem}`);
}

/** Throws LabError `<kind>/<name>: <what is wrong>` for an object the API server would refuse. */
export function validateObject(obj: unknown): void {
  const o = (typeof obj === 'object' && obj !== null ? obj : {}) as Record<string, unknown>;
  const kind = typeof o.kind === 'string' ? o.kind : '(no kind)';
  const name = (o.metadata as ObjectMeta | undefined)?.name ?? '(no name)';
  const known = KINDS[`${String(o.apiVersion)}/${kind}`];
  if (known === undefined) {
    throw new LabError(`${kind}/${name}: not a kind the lab creates (${String(o.apiVersion)})`);
  }
  try {
    known.model(o as never).validate();
  } catch (err) {
    throw new LabError(`${kind}/${name}: ${firstSchemaMessage(err)}`);
  }
  const problem = ownProblem(o, known.cluster === true);
  if (problem !== undefined) throw new LabError(`${kind}/${name}: ${problem}`);
}

/** An ephemeral container has no kind of its own: checked as what a pod's spec may hold. */
export function validateEphemeralContainer(c: IEphemeralContainer): void {
  try {
    new EphemeralContainer(c).validate();
  } catch (err) {
    throw new LabError(`EphemeralContainer/${c.name}: ${firstSchemaMessage(err)}`);
  }
  const problem = ephemeralProblem(c);
  if (problem !== undefined) throw new LabError(`EphemeralContainer/${c.name}: ${problem}`);
}

/**
 * A multi-document YAML stream, as `kubectl apply -f -` reads it: keys in the objects' own order,
 * no anchors for objects that appear twice (a reader should see each in full), no folded lines.
 * Quoted as YAML 1.1 needs: kubectl's parser is 1.1, where an unquoted `on`, `y` or 2024-01-02
 * is no string (a label value `"on"` would arrive as true and be refused).
 */
export function toYaml(objects: readonly object[]): string {
  return objects
    .map((o) => stringify(o, { version: '1.1', aliasDuplicateObjects: false, lineWidth: 0 }))
    .join('---\n');
}
