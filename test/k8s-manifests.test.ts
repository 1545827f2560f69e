/**
 * The objects of a run on a real cluster, checked offline: every one against the API's schema and
 * the rules the schema misses, the RBAC tables against what each step needs and nothing more, the
 * owners, and the whole of each as a YAML snapshot (UPDATE_SNAPSHOTS=1 rewrites them). Also the
 * Dockerfile's text: no Docker engine here, so what the image must hold is read, not built.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
  type IPolicyRule,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import {
  ConfigMap,
  EphemeralContainer,
  Pod,
  Service,
  ServiceAccount,
  type IPodSpec,
  type ISecurityContext,
} from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { BadInputError, LabError } from '../src/errors.js';
import { assertSnapshot, runCli } from './helpers.js';
import { PROTOCOLS } from '../src/protocols/index.js';
import {
  DRIVER_RULES,
  EXPERIMENTS_FILE,
  NODE_RULES,
  USER_NODE_RULES,
  USER_RULES,
  anchorConfigMap,
  checkRestricted,
  denyAllPolicy,
  driverAccess,
  matrixJob,
  nodeAccess,
  targetObjects,
  toYaml,
  userNodeRole,
  userRole,
  validateEphemeralContainer,
  validateObject,
  watchContainer,
  type TargetPlan,
} from '../src/testbeds/k8s/manifests.js';
import {
  COMPONENT_LABEL,
  EXPERIMENT_LABEL,
  MANAGED_BY,
  RUN_LABEL,
  runSelector,
  type RunRef,
} from '../src/testbeds/k8s/names.js';

const IMAGE = 'registry.example/halfopen:0.1.0';
const run: RunRef = {
  runId: '4242-abcd',
  namespace: 'lab',
  anchorUid: '00000000-0000-0000-0000-000000000001',
};
const EXPERIMENTS = JSON.stringify([
  { index: 0, target: 'nats', fault: 'partition' },
  { index: 1, target: 'tcp', fault: 'pod-delete' },
]);

const plan = (over: Partial<TargetPlan> & Pick<TargetPlan, 'target'>): TargetPlan => ({
  port: PROTOCOLS[over.target].target.port,
  replicas: PROTOCOLS[over.target].target.defaultReplicas,
  sink: PROTOCOLS[over.target].sink !== null,
  image: IMAGE,
  imagePullPolicy: 'IfNotPresent',
  gracePeriodSeconds: 30,
  preStopSeconds: 0,
  ...over,
});

const job = (r: RunRef = run) =>
  matrixJob(r, {
    completions: 2,
    parallelism: 2,
    image: IMAGE,
    imagePullPolicy: 'IfNotPresent',
    activeDeadlineSeconds: 3600,
  });

/** The snapshots, each a list of objects as one YAML stream. */
const SNAPSHOTS: Record<string, (r: RunRef) => object[]> = {
  'run.yaml': (r) => [anchorConfigMap(r, EXPERIMENTS), ...driverAccess(r), job(r)],
  'target-nats.yaml': (r) =>
    targetObjects(r, 0, plan({ target: 'nats', replicas: 3, sink: true, preStopSeconds: 5 })),
  'target-mqtt.yaml': (r) => targetObjects(r, 1, plan({ target: 'mqtt', replicas: 1, sink: true })),
  'target-tcp.yaml': (r) => targetObjects(r, 2, plan({ target: 'tcp', replicas: 3, sink: false })),
  'policy-and-nodes.yaml': (r) => [denyAllPolicy(r, 0), ...nodeAccess(r)],
};

/** Every object the builders make for a run. */
const everything = (r: RunRef): object[] => [
  ...Object.values(SNAPSHOTS).flatMap((make) => make(r)),
  userRole(r.namespace),
  userNodeRole(),
];

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; ownerReferences?: unknown[] };
};

/** The schema classes, looked up here on their own: not through the code under test. */
function modelOf(o: Obj): { validate(): void } {
  const d = o as never;
  switch (o.kind) {
    case 'ConfigMap':
      return new ConfigMap(d);
    case 'ServiceAccount':
      return new ServiceAccount(d);
    case 'Role':
      return new Role(d);
    case 'RoleBinding':
      return new RoleBinding(d);
    case 'ClusterRole':
      return new ClusterRole(d);
    case 'ClusterRoleBinding':
      return new ClusterRoleBinding(d);
    case 'Job':
      return new Job(d);
    case 'StatefulSet':
      return new StatefulSet(d);
    case 'Service':
      return new Service(d);
    case 'NetworkPolicy':
      return new NetworkPolicy(d);
    default:
      throw new Error(`no model for ${o.kind}`);
  }
}

const clone = <T>(o: T): T => structuredClone(o);

function assertRefused(obj: unknown, re: RegExp): void {
  assert.throws(
    () => validateObject(obj),
    (e: unknown) => {
      assert.ok(e instanceof LabError, `a LabError, got ${String(e)}`);
      assert.match(e.message, re);
      return true;
    },
  );
}

describe('k8s manifests: every object passes the schema and the rules it misses', () => {
  it('validateObject and the kubernetes-models classes accept every builder output', () => {
    for (const r of [run, { runId: run.runId, namespace: run.namespace }]) {
      for (const o of everything(r) as Obj[]) {
        validateObject(o);
        modelOf(o).validate();
      }
    }
  });

  it('the watch container is a valid ephemeral container, alone and in a pod', () => {
    const c = watchContainer({
      name: 'halfopen-watch',
      image: IMAGE,
      targetContainer: 'app',
      args: ['k8s', 'watch', '--port', '4222'],
    });
    assert.equal(c.stdin, false);
    assert.equal(c.tty, false);
    assert.equal(c.targetContainerName, 'app');
    assert.equal(c.ports, undefined);
    validateEphemeralContainer(c);
    new EphemeralContainer(c).validate();
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app-0', namespace: 'lab' },
      spec: { containers: [{ name: 'app', image: 'app:1' }], ephemeralContainers: [c] },
    };
    validateObject(pod);
    new Pod(pod).validate();
    assert.equal(
      watchContainer({ name: 'w', image: IMAGE, args: [] }).targetContainerName,
      undefined,
    );
  });

  it('refuses what the API server would, naming the object', () => {
    const [sts, svc] = targetObjects(run, 0, plan({ target: 'nats' }));
    const bad = clone(sts) as unknown as { spec: { replicas: unknown } };
    bad.spec.replicas = 'three';
    assertRefused(bad, /^StatefulSet\/ho-4242-abcd-0: \/spec\/replicas must be integer/);

    const long = clone(svc);
    long.metadata!.name = `s${'x'.repeat(63)}`;
    assertRefused(long, /^Service\/sx+: name sx+: not a DNS-1035 label/);
    const digit = clone(svc);
    digit.metadata!.name = '1abc';
    assertRefused(digit, /^Service\/1abc: .*DNS-1035/);

    const spaced = anchorConfigMap(run, '[]');
    spaced.metadata!.labels![RUN_LABEL] = 'a b';
    assertRefused(spaced, /^ConfigMap\/halfopen-4242-abcd: label halfopen\.dev\/run="a b"/);
    const badKey = anchorConfigMap(run, '[]');
    badKey.metadata!.labels!['bad key'] = 'x';
    assertRefused(badKey, /^ConfigMap\/halfopen-4242-abcd: label key bad key/);

    const j = clone(job()) as unknown as { spec: { completionMode: string } };
    j.spec.completionMode = 'Sometimes';
    assertRefused(
      j,
      /^Job\/halfopen-4242-abcd: \/spec\/completionMode .*allowed values \(Indexed, NonIndexed\)/,
    );

    assertRefused(
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token' } },
      /^Secret\/token: not a kind the lab creates/,
    );
    assertRefused(
      { apiVersion: 'apps/v1beta1', kind: 'StatefulSet', metadata: { name: 'x' } },
      /^StatefulSet\/x: not a kind/,
    );
    assertRefused(null, /^\(no kind\)\/\(no name\)/);

    const longSts = clone(sts);
    longSts.metadata!.name = 'a'.repeat(53);
    assertRefused(longSts, /^StatefulSet\/a+: name a+: longer than 52/);

    const upper = clone(sts);
    upper.metadata!.name = 'Ho-1';
    assertRefused(upper, /^StatefulSet\/Ho-1: name Ho-1: not a DNS subdomain/);

    const [cr] = nodeAccess(run);
    assertRefused(
      { ...cr, metadata: { ...cr.metadata, namespace: 'lab' } },
      /^ClusterRole\/halfopen-4242-abcd: a cluster-scoped object/,
    );
    const noNs = clone(svc);
    delete noNs.metadata!.namespace;
    assertRefused(noNs, /^Service\/ho-4242-abcd-0: namespace \(none\)/);

    const sleepy = clone(sts);
    sleepy.spec!.template.spec!.containers[0]!.lifecycle = { preStop: { sleep: { seconds: 40 } } };
    assertRefused(sleepy, /preStop sleep 40s outside the grace period \(30s\)/);

    const withPorts = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app-0', namespace: 'lab' },
      spec: {
        containers: [{ name: 'app' }],
        ephemeralContainers: [{ name: 'w', ports: [{ containerPort: 1 }] }],
      } satisfies IPodSpec,
    };
    assertRefused(withPorts, /^Pod\/app-0: ephemeral container w: .* may not have ports/);
    assert.throws(
      () => validateEphemeralContainer({ name: 'w', readinessProbe: { exec: { command: ['x'] } } }),
      /^LabError: EphemeralContainer\/w: an ephemeral container may not have readinessProbe/,
    );
  });

  it('refuses a run or plan Kubernetes could not hold, as the user’s input', () => {
    const bad = (fn: () => unknown, re: RegExp): void =>
      assert.throws(fn, (e: unknown) => e instanceof BadInputError && re.test(e.message));
    bad(() => anchorConfigMap({ runId: 'Run_1', namespace: 'lab' }, '[]'), /run id "Run_1"/);
    bad(() => driverAccess({ runId: '1-a', namespace: 'Lab' }), /namespace "Lab"/);
    bad(() => targetObjects(run, 0, plan({ target: 'tcp', sink: true })), /tcp has no sink/);
    bad(() => targetObjects(run, 0, plan({ target: 'mqtt', replicas: 2 })), /mqtt replicas: 2/);
    bad(
      () => targetObjects(run, 0, plan({ target: 'nats', preStopSeconds: 31 })),
      /preStop sleep \(s\): 31/,
    );
    bad(
      () =>
        matrixJob(run, { completions: 0, parallelism: 1, image: IMAGE, activeDeadlineSeconds: 60 }),
      /completions: 0/,
    );
  });
});

describe('k8s manifests: what each object is', () => {
  it('the Job: indexed, never retried, deleted by the CLI, not CPU-throttled', () => {
    const j = job();
    const spec = j.spec!;
    assert.equal(spec.completionMode, 'Indexed');
    assert.equal(spec.backoffLimit, 0);
    // A driver pod the cluster took away (evicted, preempted, its node lost) is run again, not
    // counted against backoffLimit 0; that needs restartPolicy Never (below).
    assert.deepEqual(spec.podFailurePolicy, {
      rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }],
    });
    assert.equal(spec.ttlSecondsAfterFinished, undefined);
    const pod = spec.template.spec!;
    assert.equal(pod.serviceAccountName, 'halfopen-4242-abcd');
    assert.equal(pod.restartPolicy, 'Never');
    const [c] = pod.containers;
    assert.deepEqual(c!.args, ['k8s', 'job', '--experiments', '/etc/halfopen/experiments.json']);
    assert.equal(c!.command, undefined, 'the image entrypoint runs the CLI');
    assert.equal(c!.resources?.limits, undefined);
    const env = Object.fromEntries(c!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.deepEqual(env, {
      HALFOPEN_RUN: '4242-abcd',
      HALFOPEN_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      HALFOPEN_ANCHOR_UID: run.anchorUid,
      HALFOPEN_IMAGE: IMAGE,
    });
    assert.deepEqual(c!.volumeMounts, [
      { name: 'experiments', mountPath: '/etc/halfopen', readOnly: true },
    ]);
    assert.deepEqual(pod.volumes, [
      { name: 'experiments', configMap: { name: 'halfopen-4242-abcd' } },
    ]);
    const noUid = job({ runId: run.runId, namespace: run.namespace }).spec!.template.spec!;
    assert.equal(
      noUid.containers[0]!.env!.find((e) => e.name === 'HALFOPEN_ANCHOR_UID')!.value,
      '',
    );
  });

  it('the target: a sink beside it only when asked, preStop only when set, one selector', () => {
    const [sts, svc, headless] = targetObjects(run, 0, plan({ target: 'nats', preStopSeconds: 5 }));
    const pod = sts.spec!.template.spec!;
    assert.deepEqual(
      pod.containers.map((c) => [c.name, c.args]),
      [
        ['target', ['k8s', 'serve', 'target', '--experiments', EXPERIMENTS_FILE, '--index', '0']],
        ['sink', ['k8s', 'serve', 'sink', '--experiments', EXPERIMENTS_FILE, '--index', '0']],
      ],
    );
    assert.deepEqual(pod.containers[0]!.lifecycle, { preStop: { sleep: { seconds: 5 } } });
    assert.deepEqual(pod.containers[0]!.readinessProbe, {
      tcpSocket: { port: 4222 },
      periodSeconds: 1,
    });
    assert.equal(sts.spec!.podManagementPolicy, 'Parallel');
    assert.equal(sts.spec!.serviceName, headless.metadata!.name);
    assert.equal(headless.spec!.clusterIP, 'None');
    assert.equal(headless.spec!.publishNotReadyAddresses, true);
    const selector = {
      [RUN_LABEL]: '4242-abcd',
      [EXPERIMENT_LABEL]: '0',
      [COMPONENT_LABEL]: 'target',
    };
    assert.deepEqual(sts.spec!.selector.matchLabels, selector);
    assert.deepEqual(svc.spec!.selector, selector);
    assert.deepEqual(headless.spec!.selector, selector);
    assert.deepEqual(denyAllPolicy(run, 0).spec!.podSelector?.matchLabels, selector);
    // The template's labels include the selector (a StatefulSet whose do not is refused).
    const labels = sts.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v);

    const [tcp] = targetObjects(run, 2, plan({ target: 'tcp', sink: false }));
    assert.deepEqual(
      tcp.spec!.template.spec!.containers.map((c) => c.name),
      ['target'],
    );
    assert.equal(tcp.spec!.template.spec!.containers[0]!.lifecycle, undefined);
  });

  it('the target prefers nodes without the run’s drivers, and does not require it', () => {
    const [sts] = targetObjects(run, 0, plan({ target: 'nats' }));
    const affinity = sts.spec!.template.spec!.affinity!;
    assert.equal(affinity.podAffinity, undefined);
    assert.equal(affinity.nodeAffinity, undefined);
    const anti = affinity.podAntiAffinity!;
    // Required would leave a one-node cluster (kind) with a target that never schedules.
    assert.equal(anti.requiredDuringSchedulingIgnoredDuringExecution, undefined);
    assert.deepEqual(anti.preferredDuringSchedulingIgnoredDuringExecution, [
      {
        weight: 100,
        podAffinityTerm: {
          labelSelector: { matchLabels: { [RUN_LABEL]: '4242-abcd', [COMPONENT_LABEL]: 'driver' } },
          topologyKey: 'kubernetes.io/hostname',
        },
      },
    ]);
    // It selects the run's driver pods (the Job's template labels), not the targets themselves.
    const selects = (labels: Record<string, string>): boolean =>
      Object.entries(
        anti.preferredDuringSchedulingIgnoredDuringExecution![0]!.podAffinityTerm.labelSelector!
          .matchLabels!,
      ).every(([k, v]) => labels[k] === v);
    assert.ok(selects(job().spec!.template.metadata!.labels!));
    assert.ok(!selects(sts.spec!.template.metadata!.labels!));
    assert.ok(
      !selects(job({ runId: 'other-1', namespace: 'lab' }).spec!.template.metadata!.labels!),
    );
  });

  it('the deny-all policy: both directions, no rule', () => {
    const p = denyAllPolicy(run, 3);
    assert.equal(p.metadata!.name, 'ho-4242-abcd-3-deny');
    assert.deepEqual(p.spec!.policyTypes, ['Ingress', 'Egress']);
    assert.equal(p.spec!.ingress, undefined);
    assert.equal(p.spec!.egress, undefined);
  });
});

describe('k8s manifests: Pod Security restricted', () => {
  const POD = {
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  const CONTAINER: ISecurityContext = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  const watcher = () =>
    watchContainer({ name: 'halfopen-watch', image: IMAGE, targetContainer: 'app', args: [] });

  it('the driver’s pod passes, pod and container', () => {
    const pod = job().spec!.template.spec!;
    checkRestricted(pod);
    assert.deepEqual(pod.securityContext, POD);
    for (const c of pod.containers) assert.deepEqual(c.securityContext, CONTAINER, c.name);
  });

  it('the target’s pod passes, the target and its sink both', () => {
    for (const t of [
      plan({ target: 'nats', replicas: 3, sink: true, preStopSeconds: 5 }),
      plan({ target: 'mqtt', replicas: 1, sink: true }),
      plan({ target: 'tcp', replicas: 3, sink: false }),
    ]) {
      const pod = targetObjects(run, 0, t)[0].spec!.template.spec!;
      checkRestricted(pod);
      assert.deepEqual(pod.securityContext, POD);
      assert.equal(pod.containers.length, t.sink ? 2 : 1);
      for (const c of pod.containers) assert.deepEqual(c.securityContext, CONTAINER, c.name);
    }
  });

  it('the watch container passes on its own, in a pod that sets no securityContext', () => {
    const c = watcher();
    assert.deepEqual(c.securityContext, { ...CONTAINER, runAsUser: 1000, runAsGroup: 1000 });
    checkRestricted({ containers: [], ephemeralContainers: [c] });
    // In a restricted pod of the user's, once the user's own container passes too.
    checkRestricted({
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'app', image: 'app:1', securityContext: CONTAINER }],
      ephemeralContainers: [c],
    });
    validateEphemeralContainer(c);
  });

  it('checkRestricted refuses each thing the standard refuses', () => {
    const good = (): IPodSpec => structuredClone(job().spec!.template.spec!);
    const refused = (change: (p: IPodSpec) => void, re: RegExp): void => {
      const p = good();
      change(p);
      assert.throws(
        () => checkRestricted(p),
        (e: unknown) =>
          e instanceof LabError && /^not restricted: /.test(e.message) && re.test(e.message),
        re.source,
      );
    };
    checkRestricted(good());
    const sc = (p: IPodSpec): ISecurityContext => p.containers[0]!.securityContext!;
    refused((p) => delete p.containers[0]!.securityContext, /driver: no securityContext/);
    refused((p) => delete sc(p).allowPrivilegeEscalation, /allowPrivilegeEscalation/);
    refused((p) => (sc(p).privileged = true), /driver: privileged/);
    refused((p) => (sc(p).capabilities = {}), /drop ALL/);
    refused((p) => (sc(p).capabilities!.add = ['NET_ADMIN']), /add NET_ADMIN/);
    refused((p) => delete sc(p).runAsNonRoot, /driver: runAsNonRoot/);
    refused((p) => (sc(p).runAsUser = 0), /driver: runAsUser is 0/);
    refused((p) => (sc(p).seccompProfile = { type: 'Unconfined' }), /driver: seccompProfile/);
    refused((p) => delete sc(p).seccompProfile, /driver: seccompProfile/);
    refused((p) => (p.securityContext!.runAsNonRoot = false), /the pod: runAsNonRoot is false/);
    refused((p) => (p.securityContext!.runAsUser = 0), /the pod: runAsUser is 0/);
    refused(
      (p) => (p.securityContext!.seccompProfile = { type: 'Unconfined' }),
      /the pod: seccompProfile Unconfined/,
    );
    refused((p) => (p.hostNetwork = true), /hostNetwork/);
    refused((p) => (p.hostPID = true), /hostPID/);
    refused((p) => p.volumes!.push({ name: 'host', hostPath: { path: '/' } }), /host: hostPath/);
    refused(
      (p) => (p.containers[0]!.ports = [{ containerPort: 8080, hostPort: 8080 }]),
      /hostPort/,
    );
    // An ephemeral container is a container too: one without its own context is refused.
    refused(
      (p) => (p.ephemeralContainers = [{ name: 'debug', image: 'busybox' }]),
      /container debug: no securityContext/,
    );
    // NET_BIND_SERVICE is the one capability the standard lets a container add.
    const bind = good();
    sc(bind).capabilities!.add = ['NET_BIND_SERVICE'];
    checkRestricted(bind);
  });
});

describe('k8s manifests: access', () => {
  const everyRule = (rules: readonly IPolicyRule[]) =>
    rules.flatMap((r) => [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs]);

  it('the driver’s Role grants exactly DRIVER_RULES, nothing with *, no nodes', () => {
    const [sa, role, binding] = driverAccess(run);
    assert.deepEqual(role.rules, DRIVER_RULES);
    assert.equal(role.rules.length, 8);
    for (const rules of [DRIVER_RULES, USER_RULES, NODE_RULES, USER_NODE_RULES]) {
      assert.ok(!everyRule(rules).includes('*'), 'no wildcard');
      for (const r of rules) assert.equal(r.resourceNames, undefined);
    }
    assert.ok(!role.rules.some((r) => r.resources!.includes('nodes')));
    assert.ok(!USER_RULES.some((r) => r.resources!.includes('nodes')));
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata!.name,
    });
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: sa.metadata!.name, namespace: 'lab' },
    ]);
    // The Role is a copy: changing it leaves the shared table alone.
    role.rules[0]!.verbs.push('patch');
    assert.deepEqual(DRIVER_RULES[0]!.verbs, ['get', 'list', 'watch', 'delete']);
  });

  it('the driver may do what it calls and nothing else', () => {
    const verbs = (rules: readonly IPolicyRule[]) =>
      rules.flatMap((r) => r.verbs.map((v) => `${r.apiGroups![0]}/${r.resources![0]}:${v}`));
    assert.deepEqual(verbs(DRIVER_RULES).sort(), [
      '/pods/eviction:create',
      '/pods/log:get',
      // kubectl 1.31+ port-forwards over WebSockets (a GET), falling back to SPDY (a POST).
      '/pods/portforward:create',
      '/pods/portforward:get',
      '/pods:delete',
      '/pods:get',
      '/pods:list',
      '/pods:watch',
      '/services:create',
      '/services:delete',
      'apps/statefulsets:create',
      'apps/statefulsets:delete',
      'apps/statefulsets:patch',
      'discovery.k8s.io/endpointslices:list',
      'discovery.k8s.io/endpointslices:watch',
      'networking.k8s.io/networkpolicies:create',
      'networking.k8s.io/networkpolicies:delete',
    ]);
    // It reads its experiments from the mounted anchor, and deletes what it made by name.
    assert.ok(!DRIVER_RULES.some((r) => r.resources!.includes('configmaps')));
    assert.ok(
      !DRIVER_RULES.some(
        (r) =>
          r.verbs.includes('list') &&
          r.resources![0] !== 'pods' &&
          r.resources![0] !== 'endpointslices',
      ),
    );
  });

  it('node access only in the ClusterRole, bound to the run’s ServiceAccount', () => {
    const [cr, crb] = nodeAccess(run);
    assert.deepEqual(cr.rules, [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'patch'] },
    ]);
    assert.equal(cr.metadata!.name, 'halfopen-4242-abcd');
    assert.deepEqual(crb.subjects, [
      { kind: 'ServiceAccount', name: 'halfopen-4242-abcd', namespace: 'lab' },
    ]);
    assert.equal(crb.roleRef.kind, 'ClusterRole');
  });

  it('the user holds every verb of the driver’s Role (RBAC refuses to grant more than held)', () => {
    const held = new Set(
      USER_RULES.flatMap((r) => r.verbs.map((v) => `${r.apiGroups![0]}/${r.resources![0]}:${v}`)),
    );
    for (const r of DRIVER_RULES) {
      for (const v of r.verbs)
        assert.ok(
          held.has(`${r.apiGroups![0]}/${r.resources![0]}:${v}`),
          `${r.resources![0]} ${v}`,
        );
    }
    // and what the CLI itself does
    for (const need of [
      '/configmaps:create',
      'rbac.authorization.k8s.io/roles:create',
      'rbac.authorization.k8s.io/rolebindings:create',
      'batch/jobs:watch',
      '/pods/ephemeralcontainers:patch',
      // The Job's events: why no driver pod was created (FailedCreate).
      '/events:list',
      // `k8s watch --to <service>`.
      '/services:get',
      'networking.k8s.io/networkpolicies:list',
      'apps/statefulsets:list',
      'apps/statefulsets:delete',
    ]) {
      assert.ok(held.has(need), need);
    }
    // one rule per resource: nothing listed twice
    const keys = USER_RULES.map((r) => `${r.apiGroups![0]}/${r.resources![0]}`);
    assert.equal(new Set(keys).size, keys.length);
  });

  it('the user Role is of no run: no cleanup selects it', () => {
    const role = userRole('lab');
    assert.deepEqual(role.metadata, {
      name: 'halfopen-user',
      namespace: 'lab',
      labels: { [MANAGED_BY]: 'halfopen' },
    });
    assert.deepEqual(role.rules, USER_RULES);
    assert.match(runSelector(), new RegExp(`,${RUN_LABEL.replace('.', '\\.')}$`));
  });

  it('the user’s node ClusterRole: NODE_RULES (escalation check) and the run’s ClusterRoles', () => {
    assert.deepEqual(USER_NODE_RULES, [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'patch'] },
      {
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['clusterroles'],
        verbs: ['create', 'list', 'delete'],
      },
      {
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['clusterrolebindings'],
        verbs: ['create', 'list', 'delete'],
      },
    ]);
    // Everything the run's ClusterRole grants, the user holds.
    const [cr] = nodeAccess(run);
    for (const r of cr.rules!) {
      const held = USER_NODE_RULES.find(
        (u) => u.apiGroups[0] === r.apiGroups![0] && u.resources[0] === r.resources![0],
      );
      for (const v of r.verbs) assert.ok(held?.verbs.includes(v), `${r.resources![0]} ${v}`);
    }
    const role = userNodeRole();
    assert.deepEqual(role.metadata, {
      name: 'halfopen-user-nodes',
      labels: { [MANAGED_BY]: 'halfopen' },
    });
    assert.equal(role.kind, 'ClusterRole');
    assert.deepEqual(role.rules, USER_NODE_RULES);
    validateObject(role);
    // A copy: changing it leaves the shared table alone.
    role.rules[0]!.verbs.push('delete');
    assert.deepEqual(USER_NODE_RULES[0]!.verbs, ['get', 'list', 'patch']);
  });

  it('k8s rbac --node-access prints the Role, then the node ClusterRole', async () => {
    const r = await runCli(['k8s', 'rbac', '--namespace', 'lab', '--node-access']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, toYaml([userRole('lab'), userNodeRole()]));
    const docs = parseAllDocuments(r.stdout);
    assert.ok(Array.isArray(docs));
    const objs = docs.map((d) => d.toJS() as { kind: string });
    assert.deepEqual(
      objs.map((o) => o.kind),
      ['Role', 'ClusterRole'],
    );
    for (const o of objs) validateObject(o);
    const plain = await runCli(['k8s', 'rbac', '--namespace', 'lab']);
    assert.equal(plain.stdout, toYaml([userRole('lab')]));
  });
});

describe('k8s manifests: owners', () => {
  it('namespaced objects are owned by the anchor; the anchor and cluster-scoped ones are not', () => {
    const owner = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'halfopen-4242-abcd',
      uid: run.anchorUid,
    };
    for (const o of everything(run) as Obj[]) {
      const what = `${o.kind}/${o.metadata.name}`;
      const cluster = o.kind.startsWith('Cluster');
      const anchor = o.kind === 'ConfigMap';
      const user = o.metadata.name === 'halfopen-user';
      assert.equal(o.metadata.namespace === undefined, cluster, what);
      if (cluster || anchor || user) assert.equal(o.metadata.ownerReferences, undefined, what);
      else assert.deepEqual(o.metadata.ownerReferences, [owner], what);
    }
    // No blockOwnerDeletion: with OwnerReferencesPermissionEnforcement (OpenShift) setting it
    // needs update on configmaps/finalizers, and nothing waits for the anchor's dependents.
    assert.ok(!JSON.stringify(everything(run)).includes('blockOwnerDeletion'));
    // Before the anchor exists (no uid), nothing is owned.
    for (const o of everything({ runId: run.runId, namespace: 'lab' }) as Obj[]) {
      assert.equal(o.metadata.ownerReferences, undefined, o.kind);
    }
  });
});

describe('k8s manifests: YAML snapshots', () => {
  for (const [file, make] of Object.entries(SNAPSHOTS)) {
    it(`${file} is what the builders make`, () => {
      const objects = make(run);
      const text = toYaml(objects);
      // The stream reads back as the same objects, with no anchors or aliases in it.
      const docs = parseAllDocuments(text);
      assert.ok(Array.isArray(docs));
      assert.deepEqual(
        docs.map((d) => d.toJS() as unknown),
        JSON.parse(JSON.stringify(objects)),
      );
      assert.ok(!/[&*][a-z]+\d/.test(text), 'no YAML anchors');
      assertSnapshot(`k8s/${file}`, text);
    });
  }
});

describe('the Dockerfile', () => {
  const root = new URL('../../', import.meta.url);
  const text = readFileSync(new URL('Dockerfile', root), 'utf8');
  // Instructions, with their continuation lines joined and comments left out.
  const lines = text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const runs = lines.filter((l) => l.startsWith('RUN ')).join('\n');
  const installed = [...runs.matchAll(/apt-get install ((?:-[-\w]+ )*)([^;&]+)/g)].flatMap((m) => {
    assert.match(m[1]!, /--no-install-recommends/);
    return m[2]!.trim().split(/\s+/);
  });

  it('installs the brokers, the tools and kubectl from pkgs.k8s.io', () => {
    for (const pkg of [
      'nats-server',
      'mosquitto',
      'iproute2',
      'iptables',
      'conntrack',
      'ca-certificates',
      'curl',
      'kubectl',
    ]) {
      assert.ok(installed.includes(pkg), `${pkg} installed (${installed.join(' ')})`);
    }
    // Every broker the protocols run is in the image.
    for (const def of Object.values(PROTOCOLS)) {
      if (def.target.broker) assert.ok(installed.includes(def.target.broker.package));
    }
    assert.match(text, /KUBECTL_MINOR=v1\.32\b/);
    // How to build for a cluster more than one minor away (kubectl's version skew policy).
    assert.match(text, /within one minor/);
    assert.match(text, /--build-arg KUBECTL_MINOR=v1\.\d+/);
    assert.match(runs, /https:\/\/pkgs\.k8s\.io\/core:\/stable:\/\$\{KUBECTL_MINOR\}\/deb\//);
    assert.match(runs, /signed-by=/);
  });

  it('builds on node 20 and runs the CLI as its entrypoint', () => {
    assert.equal(lines[0], 'FROM node:20-bookworm-slim');
    assert.match(runs, /npm ci\b[^\n]*/);
    const build = runs.indexOf('npm run build');
    assert.ok(runs.indexOf('npm ci') < build && build < runs.indexOf('npm prune --omit=dev'));
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      bin: { halfopen: string };
    };
    assert.match(
      runs,
      new RegExp(`ln -s /opt/halfopen/${pkg.bin.halfopen} /usr/local/bin/halfopen`),
    );
    assert.match(runs, new RegExp(`chmod \\+x /opt/halfopen/${pkg.bin.halfopen}`));
    assert.ok(
      readFileSync(new URL('src/cli/main.ts', root), 'utf8').startsWith('#!/usr/bin/env node\n'),
    );
    const entry = lines.filter((l) => l.startsWith('ENTRYPOINT'));
    assert.deepEqual(entry, ['ENTRYPOINT ["halfopen"]']);
    assert.ok(!lines.some((l) => l.startsWith('CMD')), 'the args come from the pod');
    const users = lines.filter((l) => l.startsWith('USER '));
    assert.deepEqual(users, ['USER 1000:1000']);
  });

  it('.dockerignore keeps the checkout’s builds and history out', () => {
    const ignored = readFileSync(new URL('.dockerignore', root), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', 'halfopen-runs', '.git'])
      assert.ok(ignored.includes(p), p);
  });
});
