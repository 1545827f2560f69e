/**
 * `halfopen k8s probe`'s readings of what the API shows: kube-proxy's configuration file, Go
 * durations, the eviction toleration admission gives a pod, the node grace period by version, and
 * the flags that feed them into predictions (which must parse back as the run's own flags).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { specFromFlags } from '../src/cli/run.js';
import {
  evictionOf,
  goDurationS,
  kubeProxyConfig,
  nodeGraceFor,
  probeFlags,
} from '../src/testbeds/k8s/probe.js';
import { runFlags } from './helpers.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from '../src/errors.js';
import { clusterOptions } from '../src/cli/k8s.js';
import { readTimings, withTimings } from '../src/testbeds/k8s/plan.js';

describe('k8s probe: what the API shows', () => {
  it("reads kube-proxy's mode and conntrack timeouts (kubeadm's config.conf)", () => {
    const conf = [
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
      'kind: KubeProxyConfiguration',
      'conntrack:',
      '  maxPerCore: null',
      '  tcpCloseWaitTimeout: 1h0m0s',
      '  tcpEstablishedTimeout: 24h0m0s',
      'mode: ipvs',
    ].join('\n');
    assert.deepEqual(kubeProxyConfig(conf), {
      mode: 'ipvs',
      conntrack_established_s: 86_400,
      conntrack_close_wait_s: 3600,
      source: 'kube-system/kube-proxy ConfigMap (config.conf)',
    });
    // kubeadm writes an empty mode: the platform's default, iptables on Linux.
    assert.match(kubeProxyConfig('mode: ""\n').mode ?? '', /^iptables/);
    assert.equal(kubeProxyConfig('mode: ""\n').conntrack_established_s, null);
  });

  it("reads Go's durations", () => {
    assert.equal(goDurationS('24h0m0s'), 86_400);
    assert.equal(goDurationS('1h'), 3600);
    assert.equal(goDurationS('90s'), 90);
    assert.equal(goDurationS('1m30.5s'), 90.5);
    for (const bad of ['', 'soon', 3600, null]) assert.equal(goDurationS(bad), null, String(bad));
  });

  it("takes the eviction delay from the pod's toleration for an unreachable node", () => {
    const pod: V1Pod = {
      spec: {
        containers: [],
        tolerations: [
          {
            key: 'node.kubernetes.io/not-ready',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 300,
          },
          {
            key: 'node.kubernetes.io/unreachable',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 120,
          },
        ],
      },
    };
    assert.equal(evictionOf(pod), 120);
    assert.equal(evictionOf({ spec: { containers: [] } }), null);
  });

  it('assumes the node grace period by version (50 s from 1.32)', () => {
    assert.equal(nodeGraceFor(31), 40);
    assert.equal(nodeGraceFor(32), 50);
    assert.equal(nodeGraceFor(34), 50);
  });

  it('prints flags that a k8s run takes back as its settings', () => {
    const flags = probeFlags({ endpoint_lag_ms: 812.4, eviction_s: 120, node_grace_s: 50 });
    assert.deepEqual(flags, ['--endpoint-lag 812ms', '--node-grace 50s', '--eviction 120s']);
    const given: Record<string, string> = {};
    for (const f of flags) {
      const [flag, value] = f.split(' ');
      given[flag!.slice(2).replace(/-(.)/g, (_m, c: string) => c.toUpperCase())] = value!;
    }
    const spec = specFromFlags(
      runFlags({ testbed: 'k8s', target: 'tcp', fault: 'pod-delete', ...given }),
    );
    assert.deepEqual(spec.kube?.delays, {
      endpoint_lag: 812,
      node_grace: 50_000,
      eviction: 120_000,
    });
    assert.deepEqual(probeFlags({ endpoint_lag_ms: null, eviction_s: null, node_grace_s: 40 }), [
      '--node-grace 40s',
    ]);
  });
});

describe("k8s probe's timings fed back (--timings)", () => {
  it("sets the delays a run does not set itself, from probe --json's output", () => {
    const dir = mkdtempSync(join(tmpdir(), 'halfopen-timings-'));
    try {
      const file = join(dir, 'probe.json');
      writeFileSync(
        file,
        JSON.stringify({
          server: 'x',
          endpoint_lag_ms: 640.2,
          node_grace_s: 50,
          eviction_s: 120,
          flags: [],
        }),
      );
      const t = readTimings(file);
      assert.deepEqual(t, { endpoint_lag_ms: 640.2, node_grace_s: 50, eviction_s: 120 });
      // A delay given on the command line wins over the measured one.
      const spec = specFromFlags(
        runFlags({ testbed: 'k8s', target: 'tcp', fault: 'pod-delete', eviction: '30s' }),
      );
      assert.deepEqual(withTimings(spec, t).kube?.delays, {
        endpoint_lag: 640,
        node_grace: 50_000,
        eviction: 30_000,
      });
      writeFileSync(file, '{"server": "x"}');
      assert.throws(() => readTimings(file), BadInputError);
      assert.throws(() => readTimings(join(dir, 'missing.json')), /cannot read --timings/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is a k8s flag: refused on another testbed', () => {
    assert.throws(
      () => clusterOptions({ timings: 'probe.json' }, 1, false),
      (e: Error) =>
        e instanceof BadInputError && /--timings applies to --testbed k8s only/.test(e.message),
    );
  });
});
