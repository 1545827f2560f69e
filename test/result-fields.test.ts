/**
 * Every field of a real run's result.json, `--json` output and summary.json is described for the
 * reference (src/runner/result-fields.ts, src/report/summary.ts): a new field without a
 * description fails here. A run and a one-experiment matrix on the proxy testbed (no root).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { textOf, undescribed, type FieldDocsOf } from '../src/report/field-docs.js';
import { SUMMARY_FIELDS } from '../src/report/summary.js';
import { RESULT_FIELDS } from '../src/runner/result-fields.js';
import { runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'halfopen-fields-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

const readJson = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** summary.json's fields, with each experiment's result described as result.json's. */
const SUMMARY_WITH_RESULTS: FieldDocsOf = {
  ...SUMMARY_FIELDS,
  experiments: {
    text: textOf(SUMMARY_FIELDS.experiments),
    fields: {
      ...(SUMMARY_FIELDS.experiments as { fields: FieldDocsOf }).fields,
      result: { text: 'the result', fields: RESULT_FIELDS },
    },
  },
};

// A heartbeat client publishing through a healed partition, with an expectation: most fields
// have a value (a detection, a heal, a reconnect, the expectation's outcome).
const FLAGS = ['--testbed', 'proxy', '--strategy', 'heartbeat:interval=500ms,timeout=1s'];
const SCENARIO = [
  'clients:',
  '  - target: tcp',
  '    strategies: ["heartbeat:interval=500ms,timeout=1s"]',
  'workloads: [publish:10]',
  'faults: [{ fault: partition, heal: 3s }]',
  'testbeds: [proxy]',
  'deadline: 8s',
  'expect: "detect<=5s"',
].join('\n');

describe('the fields of the files a run writes are described', { concurrency: 2 }, () => {
  it('halfopen run: result.json and --json', async () => {
    const out = join(work, 'run');
    const r = await runCli([
      'run',
      ...FLAGS,
      '--workload',
      'publish:10',
      '--fault',
      'partition',
      '--heal',
      '3s',
      '--deadline',
      '8s',
      '--expect',
      'detect<=5s',
      '--json',
      '--out',
      out,
    ]);
    // 0, or 3 should the loaded machine make the detection miss its expectation: either way the
    // files are written in full, which is what is checked here.
    assert.ok(r.code === 0 || r.code === 3, r.stderr);
    const printed = r.json();
    const written = readJson(join(out, 'result.json'));
    // Something to describe: the fields with objects of their own are there.
    assert.ok(Array.isArray(written.expect) && printed.timeline_path !== undefined, r.stdout);
    assert.deepEqual(undescribed(printed, RESULT_FIELDS), []);
    assert.deepEqual(undescribed(written, RESULT_FIELDS), []);
  });

  it("halfopen matrix: summary.json and each experiment's result.json", async () => {
    const out = join(work, 'matrix');
    const r = await runCli(['matrix', 's.yaml', '--parallel', '1', '--out', out], {
      files: { 's.yaml': SCENARIO },
    });
    assert.ok(r.code === 0 || r.code === 3, r.stderr);
    const summary = readJson(join(out, 'summary.json'));
    assert.deepEqual(undescribed(summary, SUMMARY_WITH_RESULTS), []);
    const dirs = readdirSync(out).filter((n) => /^\d{3}-/.test(n));
    assert.equal(dirs.length, 1, readdirSync(out).join(' '));
    assert.deepEqual(undescribed(readJson(join(out, dirs[0]!, 'result.json')), RESULT_FIELDS), []);
  });

  it('a field without a description is found, however deep', () => {
    // The check must be able to fail.
    const result = {
      detect_ms: 1,
      kube: { replicas: 3, events: [{ at_ms: 1, colour: 'red' }] },
      shiny: 1,
    };
    assert.deepEqual(undescribed(result, RESULT_FIELDS), ['kube.events[].colour', 'shiny']);
  });
});
