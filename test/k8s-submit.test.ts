/**
 * A run on a real cluster from the user's machine, against a fake API server (k8s-fake-api.ts's
 * FakeCluster): the manifests each fault's run applies, the submission request by request, the
 * outcomes read back from the driver pods' logs into rows, the CLI around it (results, bad input,
 * an image that cannot be pulled, Ctrl-C, cleanup, the user's Role), and that whatever ends a
 * run, the run's objects are deleted and nothing else is.
 *
 * The fake does nothing by itself: what the Job controller and the kubelet would do, each test
 * does when the Job is created, so the CLI finds everything it waits for at its first poll (its
 * 2 s interval is not waited out), and in-process runs that need a second poll poll every 20 ms.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { predict } from '../src/advise/predict.js';
import { clusterOptions } from '../src/cli/k8s.js';
import { runScenario } from '../src/cli/matrix.js';
import { specFromFlags, type RunFlags } from '../src/cli/run.js';
import type { TimelineEntry } from '../src/events.js';
import { faultsOn, type FaultName } from '../src/faults/index.js';
import { buildResult, type ExperimentResult } from '../src/runner/result.js';
import { parseScenario } from '../src/scenario/file.js';
import { validateSpec, type ExperimentSpec } from '../src/scenario/spec.js';
import { encodeOutcome } from '../src/testbeds/k8s/job.js';
import { toYaml, userRole, validateObject } from '../src/testbeds/k8s/manifests.js';
import {
  COMPONENT_LABEL,
  EXPERIMENTS_KEY,
  RUN_LABEL,
  runLabels,
  runName,
  runSelector,
} from '../src/testbeds/k8s/names.js';
import type { ExperimentsDoc } from '../src/testbeds/k8s/plan.js';
import { dryRunYaml, submitMatrix, userNeeds } from '../src/testbeds/k8s/submit.js';
import {
  assertBadInput,
  assertOneLine,
  assertSnapshot,
  runCli,
  runFlags,
  specOf,
  startCli,
} from './helpers.js';
import {
  FakeCluster,
  FakeApi,
  type Recorded,
  type StoredObject,
  withCluster,
} from './k8s-fake-api.js';

const IMAGE = 'registry.example/halfopen:0.1.0';
const NS = '/api/v1/namespaces/lab';
const CONFIGMAPS = `${NS}/configmaps`;
const PODS = `${NS}/pods`;
const JOBS = '/apis/batch/v1/namespaces/lab/jobs';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const SSAR = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
/** Where an Indexed Job's pod carries its index (the annotation; a label too since 1.28). */
const INDEX_KEY = 'batch.kubernetes.io/job-completion-index';

/** `halfopen run --testbed k8s`'s spec for `fault`, as the CLI builds it. */
const k8sSpec = (fault: FaultName, more: Partial<RunFlags> = {}): ExperimentSpec =>
  specFromFlags(runFlags({ testbed: 'k8s', target: 'tcp', fault, deadline: '20s', ...more }));

/** The flags some faults need on a real cluster to be valid at all. */
const FAULT_FLAGS: Partial<Record<FaultName, Partial<RunFlags>>> = {
  'node-loss': { hook: 'gcloud compute instances stop "$HALFOPEN_NODE"' },
  // A NATS cluster: three replicas with their sinks, the target a rollout restarts one by one.
  rollout: { target: 'nats' },
  'pod-delete': { target: 'nats' },
  // Whether the policy is in force is read from messages crossing: a publisher.
  'network-policy': { workload: 'publish:10' },
};

/**
 * What a driver measured for `spec`, made by the lab's own result code from a short timeline: a
 * connection that a keepalive finds dead 2.5 s after T0. The timeline's stamps are bigints, as
 * they come back from the log.
 */
function resultFor(spec: ExperimentSpec): ExperimentResult {
  const at = (ms: number): bigint => BigInt(Math.round((10_000 + ms) * 1e6));
  const timeline: TimelineEntry[] = [
    { t: at(-1500), src: 'client', type: 'connected', attempt: 1, sockopts: { keepalive: true } },
    { t: at(0), src: 'lab', type: 'fault', name: spec.fault, phase: 'start' },
    { t: at(12.5), src: 'lab', type: 'fault', name: spec.fault, phase: 'applied' },
    { t: at(2500), src: 'client', type: 'detected', reason: 'keepalive' },
    { t: at(3000), src: 'lab', type: 'stop', reason: 'complete' },
  ];
  const result = buildResult({
    spec,
    prediction: predict(spec),
    entries: timeline,
    counters: {},
    targetVersion: 'halfopen tcp server',
    clientLibrary: 'node:net',
    flow: null,
  });
  return { ...result, timeline };
}

/** A driver's log as `kubectl logs` shows it: progress on stderr, the outcome line on stdout. */
const driverLog = (outcome: Parameters<typeof encodeOutcome>[0]): string =>
  `deploying ho-target\nwaiting for 1 target pod\n${encodeOutcome(outcome)}\nremoving ho-target\n`;

/** What the kubelet makes of one index: its pod's phase and container statuses, and its log. */
interface DriverPlan {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  log?: string;
  containerStatuses?: unknown[];
}

const driverPodName = (runId: string, index: number): string =>
  `${runName(runId)}-${index}-x7k${index}q`;

/**
 * The Job controller's part: when the run's Job is created, one pod per index (in the Job's
 * template labels, with its index), as `plan` says, from the experiments in the run's anchor
 * ConfigMap (what the real drivers read). null: no pod for that index.
 */
function jobController(
  cluster: FakeCluster,
  plan: (index: number, spec: ExperimentSpec, runId: string) => DriverPlan | null,
): void {
  cluster.onCreate = (collection, job) => {
    if (collection !== JOBS) return;
    const runId = job.metadata.labels?.[RUN_LABEL] ?? '';
    const anchor = cluster.get(`${CONFIGMAPS}/${runName(runId)}`) as StoredObject & {
      data: Record<string, string>;
    };
    const doc = JSON.parse(anchor.data[EXPERIMENTS_KEY]!) as ExperimentsDoc;
    const template = (job as { spec?: { template?: { metadata?: { labels?: object } } } }).spec
      ?.template?.metadata?.labels as Record<string, string>;
    doc.experiments.forEach((raw, index) => {
      const p = plan(index, validateSpec(raw), runId);
      if (p) setDriver(cluster, runId, index, p, template);
    });
  };
}

/** Puts (or replaces) the driver pod of `index` and its log. */
function setDriver(
  cluster: FakeCluster,
  runId: string,
  index: number,
  p: DriverPlan,
  labels: Record<string, string> = runLabels(runId, 'driver'),
): void {
  const name = driverPodName(runId, index);
  cluster.put(PODS, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { ...labels, 'job-name': runName(runId), [INDEX_KEY]: String(index) },
      annotations: { [INDEX_KEY]: String(index) },
    },
    spec: { containers: [{ name: 'driver', image: IMAGE }] },
    status: {
      phase: p.phase,
      ...(p.containerStatuses ? { containerStatuses: p.containerStatuses } : {}),
    },
  });
  if (p.log !== undefined) cluster.logs.set(name, p.log);
}

/** The run's id, from the objects the CLI created (it picks its own). */
function runIdOf(fake: FakeApi): string {
  const anchor = fake.calls().find((c) => c.method === 'POST' && c.path === CONFIGMAPS);
  assert.ok(anchor, 'the anchor ConfigMap was created');
  return (anchor.body as StoredObject).metadata.labels![RUN_LABEL]!;
}

const line = (c: Recorded): string => `${c.method} ${c.path}`;

/** The writes: what "nothing created" is checked on (access reviews are questions, not writes). */
const writes = (fake: FakeApi): string[] =>
  fake
    .calls()
    .filter((c) => c.method !== 'GET' && c.path !== SSAR)
    .map(line);

/**
 * After a run ended: each object it created is gone, deleted by name after a list by the run's
 * labels (nothing else deleted), and nothing of the run is left in the fake.
 */
function assertRunDeleted(cluster: FakeCluster, fake: FakeApi, runId: string): void {
  const created = fake
    .calls()
    .filter((c) => c.method === 'POST' && c.path !== SSAR)
    .map((c) => `${c.path}/${(c.body as StoredObject).metadata.name}`);
  assert.ok(created.length > 0, 'the run created something');
  const deleted = fake
    .calls()
    .filter((c) => c.method === 'DELETE')
    .map((c) => c.path);
  const pods = deleted.filter((p) => p.startsWith(`${PODS}/`));
  assert.deepEqual(
    deleted.filter((p) => !p.startsWith(`${PODS}/`)).sort(),
    created.sort(),
    'the DELETEs are exactly what the run created (and its driver pods)',
  );
  for (const p of pods) assert.match(p, new RegExp(`/${runName(runId)}-\\d+-`));
  for (const c of fake.calls().filter((c) => c.method === 'GET' && c.query.has('labelSelector')))
    if (!c.path.endsWith('/pods'))
      assert.equal(c.query.get('labelSelector'), runSelector(runId), c.path);
  assert.deepEqual(cluster.pathsOf(runSelector(runId)), [], 'nothing of the run is left');
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** submitMatrix's options as the CLI gives them, against the fake. */
const submitOptions = (
  kubeconfig: string,
  more: Partial<Parameters<typeof submitMatrix>[1]> = {},
): Parameters<typeof submitMatrix>[1] => ({
  runId: '4242-abcd',
  image: IMAGE,
  nodeAccess: false,
  parallel: 2,
  kubeconfig,
  signal: new AbortController().signal,
  pollMs: 20,
  ...more,
});

// ---------------------------------------------------------------------------------------------

describe('k8s dry run: every manifest of each fault’s run (YAML snapshots)', () => {
  const faults = faultsOn('k8s');

  it('covers the faults the k8s testbed has', () => {
    assert.deepEqual([...faults].sort(), [
      'network-policy',
      'node-drain',
      'node-loss',
      'pod-delete',
      'pod-force-delete',
      'port-forward',
      'rollout',
    ]);
  });

  for (const fault of faults) {
    it(`run-${fault}.yaml`, () => {
      const spec = k8sSpec(fault, FAULT_FLAGS[fault]);
      const text = dryRunYaml('4242-abcd', 'lab', [spec], {
        image: IMAGE,
        nodeAccess: false,
        parallel: 1,
      });
      const docs = parseAllDocuments(text);
      assert.ok(Array.isArray(docs), 'a YAML stream');
      for (const d of docs) assert.deepEqual(d.errors, [], 'parses');
      const objects = docs.map((d) => d.toJS() as StoredObject);
      for (const o of objects) validateObject(o);
      const kinds = objects.map((o) => o.kind);
      assert.deepEqual(
        kinds.filter((k) => !['NetworkPolicy', 'ClusterRole', 'ClusterRoleBinding'].includes(k!)),
        [
          'ConfigMap',
          'ServiceAccount',
          'Role',
          'RoleBinding',
          'Job',
          'StatefulSet',
          'Service',
          'Service',
        ],
      );
      // The deny-all policy only where the fault is one; node access where the fault asks for it.
      assert.equal(kinds.includes('NetworkPolicy'), fault === 'network-policy', 'NetworkPolicy');
      assert.equal(kinds.includes('ClusterRole'), fault === 'node-drain', 'ClusterRole');
      assert.equal(kinds.includes('ClusterRoleBinding'), fault === 'node-drain');
      // The experiment the drivers read is the spec itself.
      const anchor = objects[0] as StoredObject & { data: Record<string, string> };
      const doc = JSON.parse(anchor.data[EXPERIMENTS_KEY]!) as ExperimentsDoc;
      assert.deepEqual(doc.experiments, [JSON.parse(JSON.stringify(spec))]);
      assert.deepEqual(validateSpec(doc.experiments[0]!), spec);
      assertSnapshot(`k8s/run-${fault}.yaml`, text);
    });
  }
});

describe('k8s submitMatrix against the fake', () => {
  it('preflights, creates the anchor then what it owns, reads each index from its log, deletes everything', async () => {
    await withCluster(async (cluster, fake) => {
      const specs = [
        k8sSpec('pod-delete'),
        k8sSpec('pod-force-delete'),
        k8sSpec('network-policy', { target: 'nats', workload: 'publish:10' }),
      ];
      const runId = '4242-abcd';
      const measured = specs.map(resultFor);
      // Index 0 finished with its outcome; 1 ended without one (it crashed before the end); 2 is
      // still running at the first poll and finishes while the CLI reads the others' logs.
      jobController(cluster, (index) =>
        index === 0
          ? { phase: 'Succeeded', log: driverLog({ index, result: measured[0]!, wallMs: 4321 }) }
          : index === 1
            ? {
                phase: 'Failed',
                log: 'deploying ho-target\nError: the target never became ready\n',
              }
            : { phase: 'Running' },
      );
      const seen: number[] = [];
      const { rows } = await submitMatrix(
        specs,
        submitOptions(fake.kubeconfig(), {
          runId,
          onRow: (row) => {
            seen.push(row.index);
            if (seen.length === 2)
              setDriver(cluster, runId, 2, {
                phase: 'Succeeded',
                log: driverLog({ index: 2, result: measured[2]!, wallMs: 5000 }),
              });
          },
        }),
      );

      // The rows: results with their bigint timelines, and the one without an outcome as an error.
      assert.deepEqual(seen, [0, 1, 2]);
      assert.equal(rows.length, 3);
      assert.deepEqual(rows[0], { index: 0, spec: specs[0], result: measured[0], wallMs: 4321 });
      assert.equal(typeof rows[0].result!.timeline[0]!.t, 'bigint');
      assert.equal(rows[1]!.result, undefined);
      assert.equal(
        rows[1]!.error,
        'the driver of experiment 1 ended (Failed) without an outcome: Error: the target never became ready',
      );
      assert.deepEqual(rows[2], { index: 2, spec: specs[2], result: measured[2], wallMs: 5000 });

      const calls = fake.calls();
      const needs = userNeeds(false);
      // Preflight: the namespace, then one review per need, before anything is created.
      assert.deepEqual(calls.slice(0, 1 + needs.length).map(line), [
        `GET ${NS}`,
        ...needs.map(() => `POST ${SSAR}`),
      ]);
      assert.deepEqual(
        calls
          .slice(1, 1 + needs.length)
          .map(
            (c) => (c.body as { spec: { resourceAttributes: unknown } }).spec.resourceAttributes,
          ),
        needs.map((n) => ({
          verb: n.verb,
          group: n.group,
          resource: n.resource,
          ...(n.subresource ? { subresource: n.subresource } : {}),
          namespace: 'lab',
        })),
      );
      // The anchor first, then what it owns, in that order.
      const creates = calls.filter((c) => c.method === 'POST' && c.path !== SSAR);
      assert.deepEqual(creates.map(line), [
        `POST ${CONFIGMAPS}`,
        `POST ${NS}/serviceaccounts`,
        `POST ${RBAC}/namespaces/lab/roles`,
        `POST ${RBAC}/namespaces/lab/rolebindings`,
        `POST ${JOBS}`,
      ]);
      assert.equal(calls.indexOf(creates[0]!), 1 + needs.length, 'created right after preflight');
      const [anchor, ...owned] = creates.map((c) => c.body as StoredObject);
      assert.equal(anchor!.metadata.name, runName(runId));
      assert.deepEqual(anchor!.metadata.labels, runLabels(runId, 'anchor'));
      assert.equal(anchor!.metadata.ownerReferences, undefined);
      const doc = JSON.parse(
        (anchor as unknown as { data: Record<string, string> }).data[EXPERIMENTS_KEY]!,
      ) as ExperimentsDoc;
      assert.deepEqual(
        { ...doc, experiments: doc.experiments.map((s) => validateSpec(s)) },
        { version: 1, runId, image: IMAGE, experiments: specs },
      );
      // The uid is the one the API gave the anchor (only the fake knew it).
      const uid = cluster.created[0]!.metadata.uid;
      assert.equal(uid, `uid-configmaps-${runName(runId)}`);
      for (const o of owned) {
        assert.deepEqual(
          o.metadata.ownerReferences,
          [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: runName(runId),
              uid,
            },
          ],
          o.kind,
        );
        assert.equal(o.metadata.labels?.[RUN_LABEL], runId, o.kind);
        assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'halfopen', o.kind);
      }
      const job = owned[3] as StoredObject & {
        spec: {
          completionMode: string;
          completions: number;
          parallelism: number;
          template: {
            spec: { containers: { image: string; env: { name: string; value?: string }[] }[] };
          };
        };
      };
      assert.equal(job.kind, 'Job');
      assert.equal(job.spec.completionMode, 'Indexed');
      assert.equal(job.spec.completions, 3);
      assert.equal(job.spec.parallelism, 2, 'min(--parallel 2, 3 experiments)');
      const driver = job.spec.template.spec.containers[0]!;
      assert.equal(driver.image, IMAGE);
      assert.equal(driver.env.find((e) => e.name === 'HALFOPEN_ANCHOR_UID')?.value, uid);

      // Following: the driver pods by the run's labels, each finished one's driver log once.
      // (Until the deletion, whose list of the run's pods comes last and has no component.)
      const deleting = calls.findIndex((c) => c.method === 'DELETE');
      const podLists = calls.filter(
        (c, i) => i < deleting && c.method === 'GET' && c.path === PODS,
      );
      assert.equal(podLists.length, 2, 'two polls: index 2 ended after the first');
      for (const c of podLists)
        assert.equal(
          c.query.get('labelSelector'),
          `${runSelector(runId)},${COMPONENT_LABEL}=driver`,
        );
      const logs = calls.filter((c) => c.path.endsWith('/log'));
      assert.deepEqual(
        logs.map((c) => [c.path, c.query.get('container')]),
        [0, 1, 2].map((i) => [`${PODS}/${driverPodName(runId, i)}/log`, 'driver']),
      );
      assert.ok(
        calls.some((c) => c.method === 'GET' && c.path === `${JOBS}/${runName(runId)}`),
        "the Job's status was read",
      );
      assertRunDeleted(cluster, fake, runId);
      // The Job first, in the foreground: its driver pods go with it (each undoing what it did
      // while its access still exists), and only then the rest.
      const deletes = fake.calls().filter((c) => c.method === 'DELETE');
      assert.equal(deletes[0]!.path, `${JOBS}/${runName(runId)}`);
      const body = deletes[0]!.body as { propagationPolicy?: string } | undefined;
      assert.equal(
        body?.propagationPolicy ?? deletes[0]!.query.get('propagationPolicy'),
        'Foreground',
      );
      assert.equal(
        deletes.filter((c) => c.path.startsWith(`${PODS}/`)).length,
        0,
        'no driver pod deleted by hand: they went with their Job',
      );
      assert.deepEqual(fake.unmatched, []);
    });
  });

  it('a Job that failed with no pod running leaves the remaining rows with its reason', async () => {
    await withCluster(async (cluster, fake) => {
      const specs = [k8sSpec('pod-delete'), k8sSpec('pod-force-delete'), k8sSpec('rollout')];
      const runId = '4243-abcd';
      const measured = resultFor(specs[0]!);
      // Index 0 finished; index 1 still runs when the deadline strikes (the Job is Failed already
      // but its pod is not gone yet); index 2 never started.
      jobController(cluster, (index) =>
        index === 0
          ? { phase: 'Succeeded', log: driverLog({ index, result: measured, wallMs: 100 }) }
          : index === 1
            ? { phase: 'Running' }
            : null,
      );
      const failJob = (): void => {
        const job = cluster.get(`${JOBS}/${runName(runId)}`);
        job.status = {
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'DeadlineExceeded',
              message: 'Job was active longer than specified deadline',
            },
          ],
        };
      };
      const { rows } = await submitMatrix(
        specs,
        submitOptions(fake.kubeconfig(), {
          runId,
          onRow: (row) => {
            if (row.index !== 0) return;
            failJob();
            // While a pod still runs the CLI waits for it: it goes with the Job, without a log,
            // a few polls later (when exactly does not matter: the CLI polls until it is gone).
            setTimeout(() => cluster.objects.delete(`${PODS}/${driverPodName(runId, 1)}`), 50);
          },
        }),
      );
      assert.deepEqual(rows[0]!.result, measured);
      const why =
        "stopped: the Job failed (DeadlineExceeded Job was active longer than specified deadline) before this experiment's outcome was read";
      assert.equal(rows[1]!.error, why);
      assert.equal(rows[2]!.error, why);
      const jobReads = fake.calls().filter((c) => c.path === `${JOBS}/${runName(runId)}`);
      assert.ok(jobReads.length >= 2, 'the Job was read again after index 1 ended');
      assertRunDeleted(cluster, fake, runId);
    });
  });

  describe('refuses before creating anything', () => {
    const one = [k8sSpec('pod-delete')];

    it('an API server that does not answer', async () => {
      await withCluster(async (_cluster, fake) => {
        const port = await closedPort();
        const file = fake.kubeconfig();
        const text = readFileSync(file, 'utf8').replace(fake.url, `http://127.0.0.1:${port}`);
        writeFileSync(file, text);
        await assertBadInput(
          () => submitMatrix(one, submitOptions(file)),
          new RegExp(
            `^cannot reach the API server at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
          ),
        );
        assert.deepEqual(fake.requests, []);
      });
    });

    it('a namespace that does not exist', async () => {
      await withCluster(
        async (_cluster, fake) => {
          await assertBadInput(
            () => submitMatrix(one, submitOptions(fake.kubeconfig())),
            /^namespace 'lab' does not exist \(kubectl create namespace lab\)$/,
          );
          assert.deepEqual(fake.calls().map(line), [`GET ${NS}`]);
        },
        { namespace: null },
      );
    });

    it('missing RBAC, every missing permission named', async () => {
      await withCluster(
        async (_cluster, fake) => {
          await assertBadInput(
            () => submitMatrix(one, submitOptions(fake.kubeconfig())),
            /^missing RBAC in namespace lab: create rolebindings, delete rolebindings \(apply: halfopen k8s rbac/,
          );
          assert.deepEqual(writes(fake), []);
          assert.equal(fake.calls().length, 1 + userNeeds(false).length, 'every need asked');
        },
        { allowed: (a) => a.resource !== 'rolebindings' || a.verb === 'list' },
      );
    });

    it('node-drain asks for the node rules and cluster RBAC too', async () => {
      await withCluster(
        async (_cluster, fake) => {
          await assertBadInput(
            () => submitMatrix([k8sSpec('node-drain')], submitOptions(fake.kubeconfig())),
            /^missing RBAC in namespace lab: get nodes, list nodes, patch nodes, create clusterroles, list clusterroles, delete clusterroles, create clusterrolebindings, list clusterrolebindings, delete clusterrolebindings \(apply: halfopen k8s rbac --node-access /,
          );
          assert.equal(fake.calls().length, 1 + userNeeds(true).length);
          assert.deepEqual(writes(fake), []);
        },
        { allowed: (a) => !['nodes', 'clusterroles', 'clusterrolebindings'].includes(a.resource) },
      );
    });

    it('an unknown --context', async () => {
      await withCluster(async (_cluster, fake) => {
        await assertBadInput(
          () => submitMatrix(one, submitOptions(fake.kubeconfig(), { context: 'prod' })),
          /^unknown context 'prod' \(the kubeconfig has: fake\)$/,
        );
        assert.deepEqual(fake.requests, []);
      });
    });
  });
});

describe('k8s flags and specs: bad input, in-process', () => {
  it('--image that is not an image reference, --image-pull-policy that is not a policy', async () => {
    await assertBadInput(
      () => clusterOptions({ image: 'registry.example/halfopen 0.1' }, 1, true),
      /^--image 'registry\.example\/halfopen 0\.1' is not an image reference$/,
    );
    await assertBadInput(
      () => clusterOptions({ imagePullPolicy: 'Sometimes' }, 1, true),
      /--image-pull-policy.*Sometimes|Sometimes.*--image-pull-policy/,
    );
    // What is accepted is passed on as given.
    assert.deepEqual(clusterOptions({ image: IMAGE, imagePullPolicy: 'Always' }, 4, true), {
      image: IMAGE,
      imagePullPolicy: 'Always',
      nodeAccess: false,
      parallel: 4,
    });
  });

  it('k8s flags on another testbed are refused', async () => {
    await assertBadInput(
      () => clusterOptions({ dryRun: true }, 1, false),
      /^--dry-run applies to --testbed k8s only$/,
    );
    await assertBadInput(
      () => clusterOptions({ imagePullPolicy: 'Never' }, 1, false),
      /^--image-pull-policy applies to --testbed k8s only$/,
    );
    assert.equal(clusterOptions({}, 1, false), null);
  });

  it('a scenario that mixes k8s with a local testbed', async () => {
    const scenario = parseScenario(
      'clients: [{ target: tcp }]\nfaults: [pod-delete]\ntestbeds: [k8s, kube]\n',
      'mixed.yaml',
    );
    assert.deepEqual(new Set(scenario.specs.map((s) => s.testbed)), new Set(['k8s', 'kube']));
    await assertBadInput(
      () => runScenario(scenario, {}, () => '/nonexistent', new AbortController().signal),
      /^a matrix runs on a real cluster or on this machine, not both \(testbeds: k8s, kube\)$/,
    );
    // With netns no fault is valid on both (node-loss needs --hook on k8s, refuses it on netns),
    // so a file is refused at the fault; experiments put together otherwise, by the mixing check.
    await assertBadInput(
      () =>
        parseScenario(
          'clients: [{ target: tcp }]\nfaults: [pod-delete]\ntestbeds: [k8s, netns]\n',
          'mixed.yaml',
        ),
      /^mixed\.yaml: clients\[0\] with fault pod-delete: fault pod-delete is not available on the netns testbed/,
    );
    const netns = { name: 'mixed', specs: [k8sSpec('pod-delete'), specOf({ fault: 'partition' })] };
    await assertBadInput(
      () => runScenario(netns, {}, () => '/nonexistent', new AbortController().signal),
      /^a matrix runs on a real cluster or on this machine, not both \(testbeds: k8s, netns\)$/,
    );
  });

  it('node-loss without --hook, --time-scale, and --policy on a real cluster', async () => {
    await assertBadInput(() => k8sSpec('node-loss'), /^node-loss on a real cluster needs --hook/);
    await assertBadInput(
      () => k8sSpec('pod-delete', { timeScale: '0.5' }),
      /^--time-scale applies to the kube testbed only: a real cluster keeps its own time$/,
    );
    await assertBadInput(
      () => k8sSpec('network-policy', { policy: 'every', workload: 'publish:10' }),
      /^--policy describes the kube testbed's CNI; on a real cluster, its CNI decides/,
    );
    // Whether the policy is in force is read from messages crossing: an idle client has none.
    await assertBadInput(
      () => k8sSpec('network-policy'),
      /^network-policy on a real cluster needs messages crossing to tell whether the policy is in force/,
    );
  });
});

describe('k8s through the CLI', { concurrency: true }, () => {
  const SCENARIO = [
    'name: k8s from the fake',
    'clients:',
    '  - target: tcp',
    "    strategies: [none, 'keepalive:idle=2s,interval=1s,count=3']",
    'workloads: [idle]',
    'faults: [pod-delete]',
    'testbeds: [k8s]',
    'deadline: 10s',
    '',
  ].join('\n');

  it('matrix: the results read back from the drivers become summary.json and report.html', async () => {
    await withCluster(async (cluster, fake) => {
      const measured = new Map<number, ExperimentResult>();
      jobController(cluster, (index, spec) => {
        measured.set(index, resultFor(spec));
        return {
          phase: 'Succeeded',
          log: driverLog({ index, result: measured.get(index)!, wallMs: 1234 }),
        };
      });
      const cwd = mkdtempSync(join(tmpdir(), 'halfopen-test-k8s-'));
      try {
        const r = await runCli(
          [
            'matrix',
            's.yaml',
            '--kubeconfig',
            fake.kubeconfig(),
            '--image',
            IMAGE,
            '--parallel',
            '2',
            '--out',
            'out',
            '--json',
          ],
          { cwd, files: { 's.yaml': SCENARIO }, timeoutMs: 60_000 },
        );
        assert.equal(r.code, 0, r.stderr);
        const out = r.json<{ summary: string; report: string }>();
        assert.equal(out.summary, join('out', 'summary.json'));
        const summary = JSON.parse(readFileSync(join(cwd, out.summary), 'utf8')) as {
          run_id: string;
          parallel: number;
          experiments: {
            index: number;
            wall_ms: number;
            result?: Record<string, unknown>;
            error?: string;
          }[];
          cells: { testbed: string; strategy: string; detect_ms: { p50: number } | null }[];
        };
        const runId = runIdOf(fake);
        assert.equal(summary.run_id, runId);
        assert.equal(summary.parallel, 2);
        assert.equal(summary.experiments.length, 2);
        for (const e of summary.experiments) {
          assert.equal(e.error, undefined);
          assert.equal(e.wall_ms, 1234);
          const { timeline: _t, ...want } = measured.get(e.index)!;
          assert.deepEqual(e.result, JSON.parse(JSON.stringify(want)));
        }
        assert.deepEqual(
          summary.cells.map((c) => [c.testbed, c.strategy, c.detect_ms?.p50]),
          [
            ['k8s', 'none', 2500],
            ['k8s', 'keepalive:idle=2s,interval=1s,count=3', 2500],
          ],
        );
        // Each timeline is written as a local run writes it.
        const timeline = readFileSync(
          join(cwd, 'out', '000-tcp-pod-delete', 'timeline.jsonl'),
          'utf8',
        );
        assert.equal(timeline.trim().split('\n').length, measured.get(0)!.timeline.length);
        const html = readFileSync(join(cwd, out.report), 'utf8');
        assert.match(html, /k8s from the fake/);
        assert.match(html, /keepalive:idle=2s,interval=1s,count=3/);
        assertRunDeleted(cluster, fake, runId);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });
  });

  it('an image the cluster cannot pull: exit 2 naming the image and --image, the run deleted', async () => {
    await withCluster(async (cluster, fake) => {
      const missing = 'registry.example/halfopen:missing';
      jobController(cluster, () => ({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'driver',
            image: missing,
            ready: false,
            restartCount: 0,
            imageID: '',
            state: {
              waiting: {
                reason: 'ErrImagePull',
                message: `failed to pull image "${missing}": not found`,
              },
            },
          },
        ],
      }));
      const r = await runCli(
        [
          'run',
          '--testbed',
          'k8s',
          '--fault',
          'pod-delete',
          '--kubeconfig',
          fake.kubeconfig(),
          '--image',
          missing,
        ],
        { timeoutMs: 60_000 },
      );
      assertOneLine(
        r,
        2,
        /^halfopen: image 'registry\.example\/halfopen:missing' can't be pulled \(ErrImagePull: .*\).*--image$/,
      );
      assertRunDeleted(cluster, fake, runIdOf(fake));
    });
  });

  it('Ctrl-C while the driver runs: exit 130, the run deleted', async () => {
    await withCluster(async (cluster, fake) => {
      jobController(cluster, () => ({ phase: 'Running' }));
      const run = startCli(
        [
          'run',
          '--testbed',
          'k8s',
          '--target',
          'nats',
          '--fault',
          'pod-delete',
          '--kubeconfig',
          fake.kubeconfig(),
          '--json',
        ],
        { timeoutMs: 60_000 },
      );
      // Polled, not slept: the Job exists and the CLI has looked at its pods once.
      await run.waitFor(
        () => fake.calls().some((c) => c.method === 'GET' && c.path.startsWith(`${JOBS}/`)),
        30_000,
        'the CLI follows the Job',
      );
      run.signal('SIGINT');
      const r = await run.exited;
      assertOneLine(
        r,
        130,
        /^halfopen: interrupted by SIGINT; everything the run created was removed$/,
      );
      // --json: the interruption is also the one object on stdout, nothing else.
      assert.deepEqual(r.json(), {
        error: {
          message: 'interrupted by SIGINT; everything the run created was removed',
          kind: 'interrupted',
          exit_code: 130,
        },
      });
      assertRunDeleted(cluster, fake, runIdOf(fake));
    });
  });

  it('bad input through the process: exit 2, one line, nothing created', async () => {
    await withCluster(
      async (_cluster, fake) => {
        const home = mkdtempSync(join(tmpdir(), 'halfopen-test-home-'));
        try {
          const base = ['run', '--testbed', 'k8s', '--fault', 'pod-delete'];
          const [noConfig, rbac, choice, dry] = await Promise.all([
            // No kubeconfig anywhere kubectl would look: KUBECONFIG names a missing file, no ~/.kube.
            runCli(base, { env: { KUBECONFIG: join(home, 'missing'), HOME: home } }),
            runCli([...base, '--kubeconfig', fake.kubeconfig()]),
            runCli([...base, '--image-pull-policy', 'Sometimes']),
            runCli(['run', '--testbed', 'netns', '--fault', 'partition', '--dry-run']),
          ]);
          assertOneLine(
            noConfig,
            2,
            /^halfopen: no kubeconfig: give --kubeconfig <file> or set KUBECONFIG/,
          );
          assertOneLine(rbac, 2, /^halfopen: missing RBAC in namespace lab: create jobs/);
          assertOneLine(choice, 2, /Sometimes/);
          assertOneLine(dry, 2, /^halfopen: --dry-run applies to --testbed k8s only$/);
          // Only the one with a kubeconfig reached the fake: the preflight, nothing written.
          assert.equal(fake.calls().length, 1 + userNeeds(false).length);
          assert.deepEqual(writes(fake), []);
        } finally {
          rmSync(home, { recursive: true, force: true });
        }
      },
      { allowed: (a) => a.resource !== 'jobs' || a.verb !== 'create' },
    );
  });

  it('cleanup --testbed k8s deletes what it listed by the labels of runs, nothing else', async () => {
    await withCluster(async (cluster, fake) => {
      const mine = (runId: string): Record<string, string> => runLabels(runId, 'anchor');
      cluster.put(CONFIGMAPS, { metadata: { name: 'halfopen-1-aaaa', labels: mine('1-aaaa') } });
      cluster.put(JOBS, {
        metadata: { name: 'halfopen-1-aaaa', labels: runLabels('1-aaaa', 'driver') },
      });
      cluster.put('/apis/apps/v1/namespaces/lab/statefulsets', {
        metadata: { name: 'ho-2-bbbb-0', labels: runLabels('2-bbbb', 'target', 0) },
      });
      cluster.put(`${RBAC}/clusterroles`, {
        metadata: { name: 'halfopen-2-bbbb', labels: runLabels('2-bbbb', 'access') },
      });
      // What must stay: the user's Role (managed-by only), and objects that are not halfopen's.
      cluster.put(`${RBAC}/namespaces/lab/roles`, userRole('lab') as StoredObject);
      cluster.put(CONFIGMAPS, { metadata: { name: 'kube-root-ca.crt' } });
      cluster.put(JOBS, { metadata: { name: 'nightly', labels: { [RUN_LABEL]: 'x' } } });
      const before = new Set(cluster.objects.keys());

      const r = await runCli([
        'cleanup',
        '--testbed',
        'k8s',
        '--kubeconfig',
        fake.kubeconfig(),
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.json<{ namespace: string; deleted: string[] }>();
      assert.equal(out.namespace, 'lab');
      assert.deepEqual(out.deleted, [
        'Job/halfopen-1-aaaa',
        'StatefulSet/ho-2-bbbb-0',
        'ConfigMap/halfopen-1-aaaa',
        'ClusterRole/halfopen-2-bbbb',
      ]);
      const lists = fake.calls().filter((c) => c.method === 'GET');
      assert.ok(lists.length > 0);
      for (const c of lists)
        assert.equal(
          c.query.get('labelSelector'),
          'app.kubernetes.io/managed-by=halfopen,halfopen.dev/run',
        );
      const deleted = fake
        .calls()
        .filter((c) => c.method === 'DELETE')
        .map((c) => c.path);
      assert.deepEqual(
        deleted.sort(),
        [...before].filter((p) => !cluster.objects.has(p)).sort(),
        'deleted exactly what is gone',
      );
      assert.deepEqual(
        [...cluster.objects.keys()].sort(),
        [
          `${CONFIGMAPS}/kube-root-ca.crt`,
          `${JOBS}/nightly`,
          `${RBAC}/namespaces/lab/roles/halfopen-user`,
        ].sort(),
      );
    });
  });

  it('cleanup --run that is not a run id: exit 2, no request', async () => {
    await withCluster(async (_cluster, fake) => {
      const r = await runCli([
        'cleanup',
        '--testbed',
        'k8s',
        '--kubeconfig',
        fake.kubeconfig(),
        '--run',
        '1-zz',
      ]);
      assertOneLine(r, 2, /^halfopen: --run '1-zz' is not a run id \(like 4242-ab12\)$/);
      assert.deepEqual(fake.requests, []);
    });
  });

  it('k8s rbac prints the Role a user needs, valid, as userRole makes it', async () => {
    const r = await runCli(['k8s', 'rbac', '--namespace', 'lab']);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout);
    assert.ok(Array.isArray(docs));
    assert.equal(docs.length, 1);
    const role = docs[0]!.toJS() as object;
    validateObject(role);
    assert.deepEqual(role, JSON.parse(JSON.stringify(userRole('lab'))));
    assert.equal(r.stdout, toYaml([userRole('lab')]));
  });
});
