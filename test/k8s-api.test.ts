/**
 * The Kubernetes API driver, request by request, against a fake API server (test/k8s-fake-api.ts):
 * each call must send the method, path, query and body the Kubernetes API defines, and turn each
 * failure the API reports into the lab's error with what to fix.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { BadInputError, ClusterAccessError, LabError } from '../src/errors.js';
import { K8sApi, type Access } from '../src/testbeds/k8s/api.js';
import { runSelector } from '../src/testbeds/k8s/names.js';
import { waitFor } from './helpers.js';
import {
  FakeApi,
  openStream,
  sendJson,
  sendStatus,
  type Recorded,
  type Stream,
} from './k8s-fake-api.js';

const NS = '/api/v1/namespaces/lab';

/** A pod as the API returns it, in `phase` with the given container statuses. */
function podOf(name: string, status: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'lab', uid: `uid-${name}`, resourceVersion: '1' },
    spec: { containers: [{ name: 'app', image: 'registry.example/halfopen:dev' }] },
    status,
  };
}

/** Runs `fn` with environment variables set (undefined: unset), restoring them after. */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>): void => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  };
  apply(vars);
  try {
    return fn();
  } finally {
    apply(saved);
  }
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

let fake: FakeApi;
let api: K8sApi;
beforeEach(async () => {
  fake = await FakeApi.start();
  api = K8sApi.connect({ kubeconfig: fake.kubeconfig({ extraContexts: ['other'] }) });
});
afterEach(async () => {
  await fake.close();
});

/** The only non-discovery request, checked to be the one expected. */
function onlyCall(): Recorded {
  const calls = fake.calls();
  assert.equal(
    calls.length,
    1,
    `one request, got ${calls.map((c) => `${c.method} ${c.path}`).join(', ')}`,
  );
  return calls[0] as Recorded;
}

describe('connect', () => {
  it('takes the context, its namespace and server from the kubeconfig; --namespace overrides', () => {
    assert.equal(api.context, 'fake');
    assert.equal(api.namespace, 'lab');
    assert.equal(api.server, fake.url);
    const file = fake.kubeconfig({ namespace: null, extraContexts: ['other'] });
    assert.equal(K8sApi.connect({ kubeconfig: file }).namespace, 'default');
    const other = K8sApi.connect({ kubeconfig: file, context: 'other', namespace: 'x' });
    assert.equal(other.context, 'other');
    assert.equal(other.namespace, 'x');
  });

  it('names the contexts that exist when the one asked for does not', () => {
    assert.throws(
      () =>
        K8sApi.connect({
          kubeconfig: fake.kubeconfig({ extraContexts: ['other'] }),
          context: 'prod',
        }),
      (e: Error) =>
        e instanceof BadInputError &&
        e.message === "unknown context 'prod' (the kubeconfig has: fake, other)",
    );
  });

  it('says how to get a kubeconfig when there is none', () => {
    const home = mkdtempSync(join(tmpdir(), 'halfopen-home-'));
    try {
      for (const KUBECONFIG of [join(home, 'missing'), undefined])
        withEnv({ KUBECONFIG, HOME: home }, () =>
          assert.throws(
            () => K8sApi.connect({}),
            (e: Error) =>
              e instanceof BadInputError &&
              /^no kubeconfig: give --kubeconfig <file> or set KUBECONFIG/.test(e.message),
          ),
        );
      // A KUBECONFIG naming the fake's file is read (the env is what kubectl reads too).
      const file = fake.kubeconfig();
      withEnv({ KUBECONFIG: file, HOME: home }, () =>
        assert.equal(K8sApi.connect({}).server, fake.url),
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('pod deletion and eviction', () => {
  it('force-deletes with gracePeriodSeconds=0, gracefully with 30, and with no grace given none', async () => {
    fake.on('DELETE', `${NS}/pods/nats-0`, (_r, res) => sendJson(res, 200, podOf('nats-0')));
    assert.equal(await api.deletePod('nats-0', 0), true);
    assert.equal(await api.deletePod('nats-0', 30), true);
    assert.equal(await api.deletePod('nats-0'), true);
    const calls = fake.calls();
    assert.deepEqual(
      calls.map((c) => [c.method, c.path, c.query.toString()]),
      [
        ['DELETE', `${NS}/pods/nats-0`, 'gracePeriodSeconds=0'],
        ['DELETE', `${NS}/pods/nats-0`, 'gracePeriodSeconds=30'],
        ['DELETE', `${NS}/pods/nats-0`, ''],
      ],
    );
    // The kubeconfig's token user is what authenticates.
    assert.equal(calls[0]?.authorization, 'Bearer test-token');
  });

  it('reports a pod already gone as false', async () => {
    fake.on('DELETE', `${NS}/pods/gone`, (_r, res) =>
      sendStatus(res, 404, 'NotFound', 'pods "gone" not found'),
    );
    assert.equal(await api.deletePod('gone', 0), false);
  });

  it('evicts through the Eviction subresource, and says when a PodDisruptionBudget blocks it', async () => {
    fake.on(
      'POST',
      `${NS}/pods/nats-0/eviction`,
      (_r, res) =>
        sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 }),
      1,
    );
    await api.evictPod('nats-0');
    const call = onlyCall();
    assert.equal(call.method, 'POST');
    assert.equal(call.path, `${NS}/pods/nats-0/eviction`);
    assert.deepEqual(call.body, {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'nats-0', namespace: 'lab' },
    });

    fake.on('POST', `${NS}/pods/nats-0/eviction`, (_r, res) =>
      sendStatus(
        res,
        429,
        'TooManyRequests',
        "Cannot evict pod as it would violate the pod's disruption budget.",
      ),
    );
    await assert.rejects(
      api.evictPod('nats-0'),
      (e: Error) =>
        e instanceof LabError &&
        e.message ===
          "a PodDisruptionBudget blocks evicting pod nats-0: Cannot evict pod as it would violate the pod's disruption budget.",
    );
  });
});

describe('patches', () => {
  it('cordons a node with a strategic merge patch', async () => {
    fake.on('PATCH', '/api/v1/nodes/n1', (_r, res) =>
      sendJson(res, 200, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }),
    );
    await api.cordon('n1', true);
    const call = onlyCall();
    assert.equal(call.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(call.body, { spec: { unschedulable: true } });
    await api.cordon('n1', false);
    assert.deepEqual(fake.calls()[1]?.body, { spec: { unschedulable: false } });
  });

  it('restarts a StatefulSet as kubectl rollout restart: a restartedAt template annotation', async () => {
    const path = '/apis/apps/v1/namespaces/lab/statefulsets/x';
    fake.on('PATCH', path, (_r, res) =>
      sendJson(res, 200, { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' } }),
    );
    await api.restartStatefulSet('x', new Date('2025-03-04T05:06:07.089Z'));
    const call = onlyCall();
    assert.equal(call.path, path);
    assert.equal(call.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(call.body, {
      spec: {
        template: {
          metadata: {
            annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-03-04T05:06:07.089Z' },
          },
        },
      },
    });
  });

  it('adds an ephemeral container through the ephemeralcontainers subresource', async () => {
    fake.on('PATCH', `${NS}/pods/app/ephemeralcontainers`, (_r, res) =>
      sendJson(res, 200, podOf('app')),
    );
    const container = {
      name: 'fault',
      image: 'registry.example/halfopen:dev',
      command: ['sleep', 'infinity'],
    };
    await api.addEphemeralContainer('app', container);
    const call = onlyCall();
    assert.equal(call.method, 'PATCH');
    assert.equal(call.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(call.body, { spec: { ephemeralContainers: [container] } });
  });
});

describe('create', () => {
  it('posts each kind to its collection: namespaced ones in the namespace, cluster ones not', async () => {
    const echo = (r: Recorded, res: Parameters<typeof sendJson>[0]): void =>
      sendJson(res, 201, {
        ...(r.body as object),
        metadata: { ...(r.body as { metadata: object }).metadata, uid: 'u1' },
      });
    fake.on('POST', `${NS}/configmaps`, echo);
    fake.on('POST', '/apis/batch/v1/namespaces/lab/jobs', echo);
    fake.on('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', echo);

    const cm = await api.create<V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'halfopen-1-ab' },
      data: { 'experiments.json': '[]' },
    });
    assert.equal(cm.metadata?.uid, 'u1');
    await api.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'halfopen-1-ab' },
      spec: {
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'driver', image: 'i' }] },
        },
      },
    });
    await api.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'halfopen-1-ab' },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['patch'] }],
    });
    const posts = fake.calls();
    assert.deepEqual(
      posts.map((c) => [c.method, c.path]),
      [
        ['POST', `${NS}/configmaps`],
        ['POST', '/apis/batch/v1/namespaces/lab/jobs'],
        ['POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles'],
      ],
    );
    const bodies = posts.map((c) => c.body as { metadata: { namespace?: string }; data?: unknown });
    assert.equal(bodies[0]?.metadata.namespace, 'lab');
    assert.deepEqual(bodies[0]?.data, { 'experiments.json': '[]' });
    assert.equal(bodies[2]?.metadata.namespace, undefined);
    assert.deepEqual(fake.unmatched, []);
  });

  it('names the object that already exists, and the verb and resource that are forbidden', async () => {
    fake.on(
      'POST',
      `${NS}/configmaps`,
      (_r, res) =>
        sendStatus(res, 409, 'AlreadyExists', 'configmaps "halfopen-1-ab" already exists'),
      1,
    );
    fake.on('POST', `${NS}/configmaps`, (_r, res) =>
      sendStatus(
        res,
        403,
        'Forbidden',
        'configmaps is forbidden: User "dev" cannot create resource "configmaps" in API group "" in the namespace "lab"',
      ),
    );
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'halfopen-1-ab' } };
    await assert.rejects(
      api.create(cm),
      (e: Error) =>
        e instanceof LabError &&
        !(e instanceof BadInputError) &&
        /^ConfigMap\/halfopen-1-ab already exists in namespace lab: configmaps "halfopen-1-ab" already exists$/.test(
          e.message,
        ),
    );
    await assert.rejects(
      api.create(cm),
      (e: Error) =>
        e instanceof ClusterAccessError &&
        e.message.startsWith(
          'not allowed to create ConfigMap/halfopen-1-ab in namespace lab: configmaps is forbidden',
        ) &&
        e.message.endsWith('(apply: halfopen k8s rbac | kubectl apply -f -)'),
    );
  });

  it("does not send a refusal that is not RBAC's to the Role (Pod Security, quotas, webhooks)", async () => {
    const psa =
      'pods "x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false';
    fake.on('POST', `${NS}/pods`, (_r, res) => sendStatus(res, 403, 'Forbidden', psa));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } };
    await assert.rejects(
      api.create(pod),
      (e: Error) =>
        e instanceof ClusterAccessError &&
        e.message === `the cluster refused to create Pod/x in namespace lab: ${psa}`,
    );
  });
});

describe('preflight', () => {
  const needs: Access[] = [
    { verb: 'create', group: '', resource: 'pods' },
    { verb: 'create', group: '', resource: 'pods', subresource: 'eviction' },
    { verb: 'patch', group: '', resource: 'nodes', namespaced: false },
  ];
  const namespaceOk = (): void => {
    fake.on('GET', NS, (_r, res) =>
      sendJson(res, 200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab' } }),
    );
  };

  it('says how to create a namespace that does not exist', async () => {
    fake.on('GET', NS, (_r, res) => sendStatus(res, 404, 'NotFound', 'namespaces "lab" not found'));
    await assert.rejects(
      api.preflight(needs),
      (e: Error) =>
        e instanceof BadInputError &&
        e.message === "namespace 'lab' does not exist (kubectl create namespace lab)",
    );
  });

  it('lists every missing permission in one line, asking one review per need', async () => {
    namespaceOk();
    fake.on('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', (r, res) => {
      const attrs = (
        r.body as { spec: { resourceAttributes: { resource: string; subresource?: string } } }
      ).spec.resourceAttributes;
      const allowed = attrs.resource === 'pods' && attrs.subresource === undefined;
      sendJson(res, 201, { ...(r.body as object), status: { allowed } });
    });
    await assert.rejects(
      api.preflight(needs),
      (e: Error) =>
        e instanceof ClusterAccessError &&
        e.message ===
          'missing RBAC in namespace lab: create pods/eviction, patch nodes (apply: halfopen k8s rbac --node-access | kubectl apply -f -)',
    );
    const reviews = fake.calls().filter((c) => c.method === 'POST');
    assert.deepEqual(
      reviews.map((c) => (c.body as { spec: unknown }).spec),
      [
        { resourceAttributes: { verb: 'create', group: '', resource: 'pods', namespace: 'lab' } },
        {
          resourceAttributes: {
            verb: 'create',
            group: '',
            resource: 'pods',
            subresource: 'eviction',
            namespace: 'lab',
          },
        },
        { resourceAttributes: { verb: 'patch', group: '', resource: 'nodes' } },
      ],
    );
  });

  it('passes when everything is allowed', async () => {
    namespaceOk();
    fake.on('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', (r, res) =>
      sendJson(res, 201, { ...(r.body as object), status: { allowed: true } }),
    );
    await api.preflight(needs);
    assert.equal(fake.calls().length, 1 + needs.length);
  });

  it('names the server it cannot reach', async () => {
    const port = await closedPort();
    const file = fake.kubeconfig();
    writeFileSync(file, readFileSync(file, 'utf8').replace(fake.url, `http://127.0.0.1:${port}`));
    const away = K8sApi.connect({ kubeconfig: file });
    await assert.rejects(
      away.preflight(needs),
      (e: Error) =>
        e instanceof ClusterAccessError &&
        e.message ===
          `cannot reach the API server at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (check --context)`,
    );
  });

  it('says the credentials were rejected', async () => {
    fake.on('GET', NS, (_r, res) => sendStatus(res, 401, 'Unauthorized', 'Unauthorized'));
    await assert.rejects(
      api.preflight(needs),
      (e: Error) =>
        e instanceof ClusterAccessError &&
        e.message.startsWith(
          `the API server at ${fake.url} rejected the credentials of context 'fake'`,
        ),
    );
  });
});

describe('watch', () => {
  const path = `${NS}/pods`;
  const sel = 'halfopen.dev/run=1-ab';
  const p = (rv: string, phase: string): Record<string, unknown> => ({
    ...podOf('nats-0', { phase }),
    metadata: { name: 'nats-0', namespace: 'lab', uid: 'u-nats-0', resourceVersion: rv },
  });

  it('lists, then reports each event in order, resumes a watch the server ends, and stops on abort', async () => {
    const watches: Stream[] = [];
    fake.on('GET', path, (r, res) => {
      if (r.query.get('watch') === 'true') watches.push(openStream(res));
      else
        sendJson(res, 200, {
          apiVersion: 'v1',
          kind: 'PodList',
          metadata: { resourceVersion: '100' },
          items: [],
        });
    });
    const seen: [string, string | undefined][] = [];
    const ac = new AbortController();
    const done = api.watch(
      'pods',
      sel,
      (type, pod) => seen.push([type, pod.status?.phase]),
      ac.signal,
    );

    await waitFor(() => watches.length === 1, 5000, 'the first watch request');
    const first = watches[0] as Stream;
    first.event('ADDED', p('101', 'Pending'));
    first.event('MODIFIED', p('102', 'Running'));
    first.event('DELETED', p('103', 'Running'));
    await waitFor(
      () => seen.length === 3,
      5000,
      () => `three events, got ${JSON.stringify(seen)}`,
    );
    first.end();

    await waitFor(() => watches.length === 2, 5000, 'the watch resumed');
    ac.abort();
    await done;
    await (watches[1] as Stream).closed;

    assert.deepEqual(seen, [
      ['ADDED', 'Pending'],
      ['MODIFIED', 'Running'],
      ['DELETED', 'Running'],
    ]);
    const gets = fake.calls();
    assert.equal(gets[0]?.query.get('labelSelector'), sel);
    assert.equal(gets[0]?.query.get('watch'), null);
    const [w1, w2] = gets.filter((c) => c.query.get('watch') === 'true');
    assert.equal(w1?.query.get('resourceVersion'), '100');
    assert.equal(w1?.query.get('labelSelector'), sel);
    assert.equal(w2?.query.get('resourceVersion'), '103');
    assert.equal(w2?.query.get('labelSelector'), sel);
  });

  it('reports what the list finds as ADDED, and what changed meanwhile after a 410 Gone', async () => {
    let lists = 0;
    const watches: Stream[] = [];
    fake.on('GET', path, (r, res) => {
      if (r.query.get('watch') === 'true') {
        watches.push(openStream(res));
        return;
      }
      lists++;
      // The second list: nats-0 changed, and nats-1 appeared.
      const items =
        lists === 1
          ? [p('5', 'Pending')]
          : [
              p('9', 'Running'),
              {
                ...p('8', 'Pending'),
                metadata: { name: 'nats-1', uid: 'u-nats-1', resourceVersion: '8' },
              },
            ];
      sendJson(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(lists * 10) },
        items,
      });
    });
    const seen: string[] = [];
    const ac = new AbortController();
    const done = api.watch(
      'pods',
      sel,
      (type, pod) => seen.push(`${type} ${pod.metadata?.name} ${pod.status?.phase}`),
      ac.signal,
    );
    await waitFor(() => watches.length === 1, 5000, 'the first watch');
    (watches[0] as Stream).event('ERROR', {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
      message: 'too old resource version: 10 (20)',
    });
    await waitFor(() => watches.length === 2, 5000, 'the watch after the relist');
    ac.abort();
    await done;
    assert.deepEqual(seen, [
      'ADDED nats-0 Pending',
      'MODIFIED nats-0 Running',
      'ADDED nats-1 Pending',
    ]);
    const ws = fake.calls().filter((c) => c.query.get('watch') === 'true');
    assert.equal(ws[1]?.query.get('resourceVersion'), '20');
  });

  it('stops and rejects with what the event callback throws', async () => {
    const watches: Stream[] = [];
    fake.on('GET', path, (r, res) => {
      if (r.query.get('watch') === 'true') watches.push(openStream(res));
      else
        sendJson(res, 200, {
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '1' },
          items: [],
        });
    });
    const done = api.watch(
      'pods',
      sel,
      (type) => {
        if (type === 'MODIFIED') throw new Error('the caller failed');
      },
      new AbortController().signal,
    );
    await waitFor(() => watches.length === 1, 5000, 'the watch');
    (watches[0] as Stream).event('ADDED', p('2', 'Pending'));
    (watches[0] as Stream).event('MODIFIED', p('3', 'Running'));
    await assert.rejects(done, /^Error: the caller failed$/);
    await (watches[0] as Stream).closed;
  });

  it('watches endpointslices and jobs on their own paths', async () => {
    const paths: string[] = [];
    fake.on('GET', /\/(endpointslices|jobs)$/, (r, res) => {
      paths.push(r.path);
      if (r.query.get('watch') === 'true') openStream(res);
      else
        sendJson(res, 200, {
          kind: 'List',
          apiVersion: 'v1',
          metadata: { resourceVersion: '1' },
          items: [],
        });
    });
    for (const kind of ['endpointslices', 'jobs'] as const) {
      const ac = new AbortController();
      const done = api.watch(kind, sel, () => undefined, ac.signal);
      await waitFor(
        () =>
          fake.calls().filter((c) => c.query.get('watch') === 'true').length ===
          (kind === 'jobs' ? 2 : 1),
        5000,
        `the ${kind} watch`,
      );
      ac.abort();
      await done;
    }
    assert.deepEqual(paths, [
      '/apis/discovery.k8s.io/v1/namespaces/lab/endpointslices',
      '/apis/discovery.k8s.io/v1/namespaces/lab/endpointslices',
      '/apis/batch/v1/namespaces/lab/jobs',
      '/apis/batch/v1/namespaces/lab/jobs',
    ]);
  });
});

describe('logs', () => {
  const path = `${NS}/pods/app/log`;

  it('follows a container log, joining lines split across chunks and flushing the last one', async () => {
    let stream: Stream | undefined;
    fake.on('GET', path, (_r, res) => {
      stream = openStream(res, 'text/plain');
    });
    const lines: string[] = [];
    const ac = new AbortController();
    const done = api.streamLogs('app', 'client', (l) => lines.push(l), ac.signal, {
      sinceTime: new Date('2025-01-02T03:04:05.000Z'),
      timestamps: true,
    });
    const s = await waitFor(() => stream, 5000, 'the log request');
    s.write('hel');
    s.write('lo\nwor');
    await waitFor(() => lines.length === 1, 5000, 'the first line');
    s.write('ld\ncaf');
    await waitFor(() => lines.length === 2, 5000, 'the second line');
    // 'é' is two bytes in UTF-8: split between chunks, it must still come out whole.
    s.write(Buffer.from([0xc3]));
    s.write(Buffer.concat([Buffer.from([0xa9]), Buffer.from('\nlast, no newline')]));
    await waitFor(() => lines.length === 3, 5000, 'the third line');
    s.end();
    await done;
    assert.deepEqual(lines, ['hello', 'world', 'café', 'last, no newline']);
    const call = onlyCall();
    assert.equal(call.query.get('follow'), 'true');
    assert.equal(call.query.get('container'), 'client');
    assert.equal(call.query.get('timestamps'), 'true');
    assert.equal(call.query.get('sinceTime'), '2025-01-02T03:04:05.000Z');
  });

  it('ends when aborted, the stream still open', async () => {
    let stream: Stream | undefined;
    fake.on('GET', path, (_r, res) => {
      stream = openStream(res, 'text/plain');
    });
    const lines: string[] = [];
    const ac = new AbortController();
    const done = api.streamLogs('app', 'client', (l) => lines.push(l), ac.signal);
    const s = await waitFor(() => stream, 5000, 'the log request');
    s.write('one\ntw');
    await waitFor(() => lines.length === 1, 5000, 'the first line');
    ac.abort();
    await done;
    await s.closed;
    assert.deepEqual(lines, ['one', 'tw']);
  });

  it('reads a whole log without following', async () => {
    fake.on('GET', path, (_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('a\nb\n');
    });
    assert.equal(await api.readLogs('app', 'client'), 'a\nb\n');
    const call = onlyCall();
    assert.equal(call.query.get('container'), 'client');
    assert.notEqual(call.query.get('follow'), 'true');
  });
});

describe('reads', () => {
  it("lists a Service's EndpointSlices by their service-name label, and names what is not found", async () => {
    fake.on('GET', '/apis/discovery.k8s.io/v1/namespaces/lab/endpointslices', (_r, res) =>
      sendJson(res, 200, {
        kind: 'EndpointSliceList',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: {},
        items: [{ metadata: { name: 'ho-1-ab-0-x7' }, addressType: 'IPv4', endpoints: [] }],
      }),
    );
    fake.on('GET', `${NS}/pods/nope`, (_r, res) =>
      sendStatus(res, 404, 'NotFound', 'pods "nope" not found'),
    );
    const slices = await api.listEndpointSlices('ho-1-ab-0');
    assert.deepEqual(
      slices.map((s) => s.metadata?.name),
      ['ho-1-ab-0-x7'],
    );
    assert.equal(
      fake.calls()[0]?.query.get('labelSelector'),
      'kubernetes.io/service-name=ho-1-ab-0',
    );
    await assert.rejects(
      api.readPod('nope'),
      (e: Error) =>
        e instanceof LabError &&
        e.message === 'cannot get pods/nope: not found: pods "nope" not found',
    );
  });
});

describe('deleteRun', () => {
  it('lists by label and deletes exactly what is listed, jobs with propagationPolicy=Background', async () => {
    const selector = runSelector('1-ab');
    const labels = { 'app.kubernetes.io/managed-by': 'halfopen', 'halfopen.dev/run': '1-ab' };
    // What exists: some objects of the run, and neighbours without its labels.
    const store: Record<string, { name: string; labels: Record<string, string> }[]> = {
      '/apis/batch/v1/namespaces/lab/jobs': [
        { name: 'halfopen-1-ab', labels },
        { name: 'someone-elses', labels: { app: 'x' } },
      ],
      '/apis/apps/v1/namespaces/lab/statefulsets': [{ name: 'ho-1-ab-0', labels }],
      [`${NS}/configmaps`]: [
        { name: 'halfopen-1-ab', labels },
        { name: 'kube-root-ca.crt', labels: {} },
      ],
      [`${NS}/pods`]: [{ name: 'ho-1-ab-0-0', labels }],
      '/apis/rbac.authorization.k8s.io/v1/clusterroles': [
        { name: 'halfopen-1-ab', labels },
        { name: 'admin', labels: {} },
      ],
    };
    const matches = (sel: string, l: Record<string, string>): boolean =>
      sel.split(',').every((term) => {
        const [k, v] = term.split('=');
        return l[k ?? ''] === v;
      });
    fake.on('GET', /^\/api/, (r, res) => {
      const items = (store[r.path] ?? [])
        .filter((o) => matches(r.query.get('labelSelector') ?? '', o.labels))
        .map((o) => ({ metadata: { name: o.name, labels: o.labels } }));
      sendJson(res, 200, {
        kind: 'List',
        apiVersion: 'v1',
        metadata: { resourceVersion: '1' },
        items,
      });
    });
    fake.on('DELETE', /^\/api/, (r, res) =>
      // The garbage collector took the pod with its StatefulSet: already gone is fine.
      r.path.endsWith('/pods/ho-1-ab-0-0')
        ? sendStatus(res, 404, 'NotFound', 'pods "ho-1-ab-0-0" not found')
        : sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' }),
    );

    const deleted = await api.deleteRun(selector, 'yes');
    assert.deepEqual(deleted, [
      'Job/halfopen-1-ab',
      'StatefulSet/ho-1-ab-0',
      'ConfigMap/halfopen-1-ab',
      'ClusterRole/halfopen-1-ab',
    ]);

    const lists = fake.calls().filter((c) => c.method === 'GET');
    assert.equal(lists.length, 11);
    for (const l of lists) assert.equal(l.query.get('labelSelector'), selector, l.path);
    const deletes = fake.calls().filter((c) => c.method === 'DELETE');
    assert.deepEqual(
      deletes.map((c) => c.path),
      [
        '/apis/batch/v1/namespaces/lab/jobs/halfopen-1-ab',
        '/apis/apps/v1/namespaces/lab/statefulsets/ho-1-ab-0',
        `${NS}/configmaps/halfopen-1-ab`,
        `${NS}/pods/ho-1-ab-0-0`,
        '/apis/rbac.authorization.k8s.io/v1/clusterroles/halfopen-1-ab',
      ],
    );
    assert.equal(deletes[0]?.query.get('propagationPolicy'), 'Background');
    assert.deepEqual(fake.unmatched, []);
  });

  it("skips cluster-wide kinds unless asked, and where the user may not list them with 'if-allowed'", async () => {
    fake.on('GET', /^\/api|^\/apis/, (r, res) => {
      if (r.path.startsWith('/apis/rbac.authorization.k8s.io/v1/cluster'))
        sendStatus(res, 403, 'Forbidden', 'clusterroles is forbidden');
      else sendJson(res, 200, { kind: 'List', metadata: {}, items: [] });
    });
    assert.deepEqual(await api.deleteRun(runSelector('1-ab')), []);
    assert.ok(!fake.calls().some((c) => c.path.includes('/clusterrole')));
    assert.deepEqual(await api.deleteRun(runSelector('1-ab'), 'if-allowed'), []);
    assert.ok(fake.calls().some((c) => c.path.includes('/clusterrole')));
    await assert.rejects(api.deleteRun(runSelector('1-ab'), 'yes'), /clusterroles is forbidden/);
  });
});

describe('waitPodRunning', () => {
  const path = `${NS}/pods/nats-0`;

  it('says which image cannot be pulled, and how to fix it', async () => {
    fake.on('GET', path, (_r, res) =>
      sendJson(
        res,
        200,
        podOf('nats-0', {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'app',
              image: 'registry.example/halfopen:dev',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: {
                waiting: {
                  reason: 'ErrImagePull',
                  message: 'failed to pull image "registry.example/halfopen:dev": not found',
                },
              },
            },
          ],
        }),
      ),
    );
    await assert.rejects(
      api.waitPodRunning('nats-0', 10_000, new AbortController().signal),
      (e: Error) =>
        e instanceof BadInputError &&
        e.message ===
          "image 'registry.example/halfopen:dev' can't be pulled: failed to pull image \"registry.example/halfopen:dev\": not found (build and push it: see the Dockerfile, then --image)",
    );
  });

  it('waits for a pod not created yet, and returns it once every container is ready', async () => {
    fake.on(
      'GET',
      path,
      (_r, res) => sendStatus(res, 404, 'NotFound', 'pods "nats-0" not found'),
      1,
    );
    fake.on('GET', path, (_r, res) =>
      sendJson(
        res,
        200,
        podOf('nats-0', {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'app',
              image: 'i',
              imageID: '',
              ready: true,
              restartCount: 0,
              state: { running: {} },
            },
          ],
        }),
      ),
    );
    const pod = await api.waitPodRunning('nats-0', 10_000, new AbortController().signal);
    assert.equal(pod.metadata?.name, 'nats-0');
    assert.equal(fake.calls().length, 2);
  });

  it('waits for a pod the scheduler cannot place yet (an autoscaler may add a node), and gives its reason at the timeout', async () => {
    fake.on('GET', path, (_r, res) =>
      sendJson(
        res,
        200,
        podOf('nats-0', {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes are available: 3 node(s) were unschedulable.',
            },
          ],
        }),
      ),
    );
    // A short wait: the pod is read several times (not given up at the first), then the reason.
    await assert.rejects(
      api.waitPodRunning('nats-0', 1200, new AbortController().signal),
      (e: Error) =>
        e instanceof LabError &&
        !(e instanceof BadInputError) &&
        e.message ===
          'pod nats-0 not running after 1 s: not scheduled yet: 0/3 nodes are available: 3 node(s) were unschedulable.',
    );
    assert.ok(fake.calls().filter((c) => c.path.endsWith('/pods/nats-0')).length >= 2);
  });
});
