/**
 * `halfopen k8s watch`: the watcher that runs in the user's pod (here on this machine's loopback,
 * against a real TCP connection), and the session that adds it and puts a fault on the server
 * side, request by request against the fake API server. No real pod: what the kubelet does with an
 * ephemeral container is not here.
 */
import { strict as assert } from 'node:assert';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BadInputError } from '../src/errors.js';
import { planWatch, watchApp, type WatchOptions } from '../src/testbeds/k8s/watch-app.js';
import { parseRemote } from '../src/testbeds/k8s/watch-here.js';
import { startCli, waitFor } from './helpers.js';
import { FakeApi, openStream, sendJson, type Stream } from './k8s-fake-api.js';

const NS = '/api/v1/namespaces/lab';

describe('k8s watch-here: the kernel watcher in the pod', () => {
  it('reports the connection ESTABLISHED, then leaving it when the peer closes', async () => {
    const server = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const client = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
    const watch = startCli([
      'k8s',
      'watch-here',
      '--to',
      `9.9.9.9:1,127.0.0.1:${port}`,
      '--for',
      '20s',
    ]);
    try {
      await watch.waitFor(() => watch.stdout.includes('"connected"'), 15_000, 'connected');
      client.destroy();
      await watch.waitFor(() => watch.stdout.includes('"detected"'), 15_000, 'detected');
      const events = watch.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; code?: string });
      assert.deepEqual(
        events.map((e) => e.type),
        ['connected', 'detected'],
      );
      // The client's own close: its socket goes through FIN_WAIT (or is gone by the next poll).
      assert.match(events[1]!.code ?? '', /^ESTABLISHED->(FIN_WAIT1|FIN_WAIT2|TIME_WAIT|gone)$/);
    } finally {
      watch.signal('SIGTERM');
      await watch.exited;
      server.close();
    }
  });

  it('takes only IPv4 addresses with ports', () => {
    assert.deepEqual(parseRemote('10.96.0.12:4222'), { host: '10.96.0.12', port: 4222 });
    for (const bad of ['nats:4222', '10.96.0.12', '10.96.0.12:0', '10.96.0.12:70000'])
      assert.throws(() => parseRemote(bad), BadInputError, bad);
  });
});

describe('k8s watch: bad input before any request', () => {
  const base: WatchOptions = {
    pod: 'app',
    to: 'nats',
    after: '1s',
    for: '10s',
    image: 'x',
    signal: new AbortController().signal,
  };
  const cases: [Partial<WatchOptions>, RegExp][] = [
    [{ fault: 'kill' }, /--fault 'kill' is not one a watch can make/],
    [{ fault: 'pod-delete' }, /--fault pod-delete needs --server-pod/],
    [{ fault: 'network-policy' }, /needs --server-selector/],
    [{ fault: 'network-policy', serverSelector: 'app' }, /'app' is not key=value/],
    [{ serverPod: 'nats-0' }, /go with --fault/],
    [{ after: '10s' }, /--after must be shorter than --for/],
    [{ for: '500ms' }, /--for must be from 1s to 1h/],
    [{ port: 'http' }, /--port 'http' is not a port number/],
  ];
  for (const [o, re] of cases)
    it(re.source, () =>
      assert.throws(
        () => planWatch({ ...base, ...o }),
        (e: Error) => e instanceof BadInputError && re.test(e.message),
      ),
    );
});

describe('k8s watch: the session, request by request', () => {
  let fake: FakeApi;
  beforeEach(async () => {
    fake = await FakeApi.start();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('adds the watcher to the pod, deletes the server pod once connected, and times the app against it', async () => {
    fake.on('GET', NS, (_r, res) =>
      sendJson(res, 200, { kind: 'Namespace', metadata: { name: 'lab' } }),
    );
    fake.on('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', (r, res) =>
      sendJson(res, 201, { ...(r.body as object), status: { allowed: true } }),
    );
    let patched = false;
    fake.on('GET', `${NS}/pods/app`, (_r, res) =>
      sendJson(res, 200, {
        kind: 'Pod',
        metadata: { name: 'app', namespace: 'lab' },
        status: {
          phase: 'Running',
          ...(patched
            ? {
                ephemeralContainerStatuses: [
                  {
                    name: (
                      fake.calls().find((c) => c.method === 'PATCH')!.body as {
                        spec: { ephemeralContainers: { name: string }[] };
                      }
                    ).spec.ephemeralContainers[0]!.name,
                    state: { running: {} },
                  },
                ],
              }
            : {}),
        },
      }),
    );
    fake.on('GET', `${NS}/services/nats`, (_r, res) =>
      sendJson(res, 200, {
        kind: 'Service',
        metadata: { name: 'nats' },
        spec: { clusterIP: '10.96.0.12', ports: [{ name: 'client', port: 4222 }] },
      }),
    );
    fake.on('GET', '/apis/discovery.k8s.io/v1/namespaces/lab/endpointslices', (_r, res) =>
      sendJson(res, 200, {
        kind: 'EndpointSliceList',
        items: [
          {
            addressType: 'IPv4',
            ports: [{ name: 'client', port: 4222 }],
            endpoints: [{ addresses: ['10.1.0.5'] }, { addresses: ['10.1.1.6'] }],
          },
        ],
      }),
    );
    fake.on('PATCH', `${NS}/pods/app/ephemeralcontainers`, (_r, res) => {
      patched = true;
      sendJson(res, 200, { kind: 'Pod', metadata: { name: 'app' } });
    });
    let log: Stream | undefined;
    fake.on('GET', `${NS}/pods/app/log`, (_r, res) => {
      log = openStream(res, 'text/plain');
    });
    fake.on('DELETE', `${NS}/pods/nats-0`, (_r, res) =>
      sendJson(res, 200, { kind: 'Pod', metadata: { name: 'nats-0' } }),
    );
    const done = watchApp({
      pod: 'app',
      to: 'nats',
      fault: 'pod-delete',
      serverPod: 'nats-0',
      after: '1s',
      for: '60s',
      image: 'registry.example/halfopen:0.1.0',
      kubeconfig: fake.kubeconfig(),
      signal: new AbortController().signal,
    });
    const s = await waitFor(() => log, 10_000, 'the log stream');
    s.write('{"t":"1","type":"connected","attempt":1}\n');
    // The fault comes --after the connection was seen.
    await waitFor(
      () => fake.calls().some((c) => c.method === 'DELETE'),
      10_000,
      'the pod deletion',
    );
    s.write('{"t":"2","type":"detected","reason":"kernel","code":"ESTABLISHED->CLOSE_WAIT"}\n');
    s.write('{"t":"3","type":"connecting","attempt":2}\n');
    s.write('{"t":"4","type":"connected","attempt":2}\n');
    const report = await done;
    // The watcher: the lab's image, told the ClusterIP and both pods' addresses, for --for.
    const patch = fake.calls().find((c) => c.method === 'PATCH')!;
    assert.match(patch.contentType ?? '', /strategic-merge-patch/);
    const container = (
      patch.body as {
        spec: { ephemeralContainers: { name: string; image: string; args: string[] }[] };
      }
    ).spec.ephemeralContainers[0]!;
    assert.equal(container.image, 'registry.example/halfopen:0.1.0');
    assert.deepEqual(container.args, [
      'k8s',
      'watch-here',
      '--to',
      '10.96.0.12:4222,10.1.0.5:4222,10.1.1.6:4222',
      '--for',
      '60000ms',
    ]);
    const logCall = fake.calls().find((c) => c.path.endsWith('/log'))!;
    assert.equal(logCall.query.get('container'), container.name);
    assert.equal(logCall.query.get('follow'), 'true');
    // A graceful deletion: no grace period in the request (the pod's own).
    const del = fake.calls().find((c) => c.method === 'DELETE')!;
    assert.equal(del.query.get('gracePeriodSeconds'), null);
    assert.deepEqual(report.remotes, ['10.96.0.12:4222', '10.1.0.5:4222', '10.1.1.6:4222']);
    assert.equal(report.fault, 'pod-delete');
    assert.equal(report.detect_how, 'ESTABLISHED->CLOSE_WAIT');
    // Stamped here as the lines arrived: after the fault, and the reconnect after the detection.
    // (No upper bound: how soon this test wrote them is not what is measured.)
    assert.ok(report.detect_ms !== null && report.detect_ms >= 0, String(report.detect_ms));
    assert.ok(report.reconnect_ms !== null && report.reconnect_ms >= report.detect_ms);
    assert.ok(report.events.some((e) => e.what.startsWith('pod-delete applied') && e.at_ms === 0));
    assert.ok(report.events.some((e) => e.what === 'connection 1 ESTABLISHED' && e.at_ms < 0));
  });
});
