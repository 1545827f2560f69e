/**
 * The Indexed Job's per-index entry point (`halfopen k8s job`), run here as Kubernetes would run
 * it in each pod (JOB_COMPLETION_INDEX set), on the kube testbed: it picks its experiment from the
 * run's experiments file, runs it, and prints one outcome line that the CLI reads back from the
 * pod's log. What a real cluster adds (the in-cluster API) is not here.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeOutcome, encodeOutcome, OUTCOME_MARK } from '../src/testbeds/k8s/job.js';
import { experimentsJson } from '../src/testbeds/k8s/plan.js';
import { assertOneLine, kubeSpecOf, netnsSkip, runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'halfopen-k8s-job-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

const file = join(work, 'experiments.json');
writeFileSync(
  file,
  experimentsJson({
    version: 1,
    runId: '4242-abcd',
    image: 'registry.example/halfopen:0.1.0',
    experiments: [
      kubeSpecOf({ target: 'tcp', fault: 'pod-delete' }),
      kubeSpecOf({ target: 'tcp', fault: 'pod-force-delete', kubeSettings: { replicas: 1 } }),
      // A real cluster's experiment, run where there is none: it fails, which is an outcome.
      {
        ...kubeSpecOf({ target: 'tcp', fault: 'pod-delete' }),
        testbed: 'k8s',
        kube: { ...kubeSpecOf().kube!, timeScale: 1 },
      },
    ],
  }),
);

describe('k8s job: one index of the Indexed Job', () => {
  it(
    'runs the experiment at JOB_COMPLETION_INDEX and prints its outcome as one line',
    { skip: netnsSkip },
    async () => {
      const r = await runCli(['k8s', 'job', '--experiments', file], {
        env: { JOB_COMPLETION_INDEX: '1' },
      });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith(OUTCOME_MARK));
      assert.equal(lines.length, 1, r.stdout);
      const outcome = decodeOutcome(r.stdout);
      assert.ok(outcome?.result, `no result: ${outcome?.error ?? r.stdout}`);
      assert.equal(outcome.index, 1);
      // Index 1 is the force deletion with one replica, not index 0's graceful deletion.
      assert.equal(outcome.result.fault, 'pod-force-delete');
      assert.equal(outcome.result.kube?.replicas, 1);
      assert.equal(outcome.result.verdict, 'inside', JSON.stringify(outcome.result.predicted_ms));
      // The timeline comes back with its stamps as bigints, T0 among them.
      assert.ok(outcome.result.timeline.length > 0);
      assert.equal(typeof outcome.result.timeline[0]!.t, 'bigint');
      assert.ok(
        outcome.result.timeline.some(
          (e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'start',
        ),
      );
      // The round trip through the log line is exact.
      assert.deepEqual(decodeOutcome(encodeOutcome(outcome)), outcome);
    },
  );

  it('refuses an index the file does not have, and a missing index, in one line', async () => {
    assertOneLine(
      await runCli(['k8s', 'job', '--experiments', file], { env: { JOB_COMPLETION_INDEX: '3' } }),
      2,
      /experiment index '3' is out of range \(the file has 3\)/,
    );
    assertOneLine(
      await runCli(['k8s', 'job', '--experiments', file], { env: { JOB_COMPLETION_INDEX: '' } }),
      2,
      /experiment index '' is out of range|no experiment index/,
    );
    assertOneLine(
      await runCli(['k8s', 'job', '--experiments', join(work, 'missing.json')]),
      2,
      /cannot read the experiments file/,
    );
  });

  it('gives an experiment that fails as an outcome with its error, and exits 0', async () => {
    // Outside a pod there is no in-cluster ServiceAccount to reach the API with.
    const r = await runCli(['k8s', 'job', '--experiments', file, '--index', '2'], {
      env: { KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' },
    });
    assert.equal(r.code, 0, r.stderr);
    const outcome = decodeOutcome(r.stdout);
    assert.equal(outcome?.index, 2);
    assert.equal(outcome?.result, undefined);
    assert.match(outcome?.error ?? '', /in-cluster|service ?account|KUBERNETES_SERVICE/i);
  });
});
