/**
 * The rough edges a new user hits first, each fixed where it happens: compound durations and
 * messages that quote what was typed; a single-value flag given twice; errors as JSON under
 * `--json`; an output directory that cannot be written, found before anything runs (exit 4, the
 * machine's problem, not the command's); a YAML tag the parser does not know (one line, no
 * parser warning); the demo on the proxy testbed, without root.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { DEMO_SCENARIO, onTestbed } from '../src/cli/demo.js';
import { readScenario } from '../src/cli/matrix.js';
import { checkWritableDir, checkWritableFile } from '../src/cli/out-dir.js';
import { specFromFlags } from '../src/cli/run.js';
import { jsonError, refuseRepeatedFlags, wantsJson } from '../src/cli/strict.js';
import { BadInputError, LabUnavailableError } from '../src/errors.js';
import { FAULT_DEFS } from '../src/faults/index.js';
import { parseScenario } from '../src/scenario/file.js';
import { formatDuration, parseDuration } from '../src/util/duration.js';
import { asNobody, assertBadInput, assertOneLine, runCli, runFlags } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'halfopen-edges-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('durations', () => {
  it('compound durations, each unit once from the largest down; a bare number is seconds', () => {
    assert.equal(parseDuration('1h30m', '--deadline'), 5_400_000);
    assert.equal(parseDuration('2m15.5s', '--deadline'), 135_500);
    assert.equal(parseDuration('1s250ms', '--deadline'), 1250);
    assert.equal(parseDuration('5', '--deadline'), 5000);
  });

  for (const text of ['30m1h', '1m1m', '1h 30m', 'h', '1.5.2s'])
    it(`refuses '${text}', quoting it`, async () => {
      await assertBadInput(
        () => parseDuration(text, '--deadline'),
        new RegExp(`^--deadline: '${text.replace(/\./g, '\\.')}' is not a duration`),
      );
    });

  it('range errors quote the text as typed, from the flags and from a scenario file', async () => {
    await assertBadInput(
      () => specFromFlags(runFlags({ fault: 'kill', deadline: '25h' })),
      /^--deadline '25h' must be from 100ms to 24h$/,
    );
    await assertBadInput(
      () => specFromFlags(runFlags({ fault: 'idle-timeout', idleTimeout: '7h', testbed: 'proxy' })),
      /^--idle-timeout '7h' must be from 100ms to 6h$/,
    );
    await assertBadInput(
      () => parseScenario('clients: [{target: tcp}]\nfaults: [kill]\ndeadline: 90000s\n', 's.yaml'),
      /^s\.yaml: deadline '90000s' must be from 100ms to 24h$/,
    );
  });

  it("a value another flag is compared with reads as a duration: '--heal 40s' not '40.00 s'", async () => {
    await assertBadInput(
      () => specFromFlags(runFlags({ fault: 'partition', heal: '1m30s', deadline: '1m' })),
      /^--heal 1m30s must be shorter than --deadline 1m$/,
    );
    assert.deepEqual([500, 30_000, 1500, 5_400_000, 90_000_000].map(formatDuration), [
      '500ms',
      '30s',
      '1.5s',
      '1h30m',
      '25h',
    ]);
  });
});

describe('a single-value flag given twice', () => {
  const program = (): Command => {
    const p = new Command('t').exitOverride();
    p.command('run')
      .option('--heal <d>')
      .option('--sysctl <kv>', 'repeatable', (v: string, acc: string[]) => [...acc, v], [])
      .option('--json')
      .action(() => undefined);
    refuseRepeatedFlags(p);
    return p;
  };

  it('is refused, quoting both values; a collecting flag may repeat', async () => {
    await assertBadInput(
      () => program().parseAsync(['run', '--heal', '5s', '--heal=8s'], { from: 'user' }),
      /^--heal given twice \('5s', then '8s'\): give it once$/,
    );
    await program().parseAsync(['run', '--sysctl', 'a=1', '--sysctl', 'b=2', '--json', '--json'], {
      from: 'user',
    });
  });

  it('through the real CLI: one line, exit 2', async () => {
    const r = await runCli(['run', '--fault', 'partition', '--heal', '5s', '--heal', '8s']);
    assertOneLine(r, 2, /--heal given twice \('5s', then '8s'\)/);
    assert.deepEqual(r.created, []);
  });
});

describe('errors under --json', () => {
  it('are one JSON object naming the kind and the exit code', () => {
    assert.equal(wantsJson(['run', '--json']), true);
    assert.equal(wantsJson(['run', '--client-cmd', 'x', '--', '--json']), false);
    assert.deepEqual(JSON.parse(jsonError(new LabUnavailableError('needs root'), 4)), {
      error: { message: 'needs root', kind: 'environment', exit_code: 4 },
    });
    const bad = JSON.parse(jsonError(new BadInputError('x'), 2)) as { error: { kind: string } };
    assert.equal(bad.error.kind, 'bad_input');
  });

  it('through the real CLI, for a bad flag and for bad input found by the command', async () => {
    for (const args of [
      ['run', '--bogus', '--json'],
      ['run', '--fault', 'meteor', '--json'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      const { error } = r.json<{ error: { message: string; kind: string; exit_code: number } }>();
      assert.equal(error.kind, 'bad_input');
      assert.equal(error.exit_code, 2);
      assert.match(error.message, /--bogus|meteor/);
    }
  });
});

describe('where results go is checked before anything runs', () => {
  it('a file in the way, or a directory that cannot be written: exit 4, nothing created', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, '');
    assert.throws(
      () => checkWritableDir(join(file, 'out'), '--out'),
      (e: unknown) => {
        assert.ok(e instanceof LabUnavailableError);
        assert.match(e.message, /^--out '.*a-file\/out': .*a-file is a file, not a directory/);
        return true;
      },
    );
    assert.throws(() => checkWritableFile(work, '--junit'), /--junit '.*' is a directory/);
    // Nothing is created by the check itself.
    checkWritableDir(join(work, 'new', 'deeper'), '--out');
    assert.deepEqual(readdirSync(work), ['a-file']);
  });

  it(
    'as an unprivileged user, --out in a directory it may not write: exit 4 before the experiment',
    { skip: !asNobody && 'needs root and runuser' },
    async () => {
      const locked = join(work, 'locked');
      mkdirSync(locked);
      chmodSync(work, 0o755);
      chmodSync(locked, 0o555);
      const r = await runCli(
        ['run', '--testbed', 'proxy', '--fault', 'kill', '--out', join(locked, 'run'), '--json'],
        { user: 'nobody' },
      );
      assert.equal(r.code, 4, r.stderr);
      assert.match(
        r.stderr,
        /^halfopen: --out '.*locked\/run': cannot write in .*locked \(EACCES\)/,
      );
      assert.equal(r.json<{ error: { kind: string } }>().error.kind, 'environment');
      assert.deepEqual(readdirSync(locked), []);
    },
  );
});

describe('scenario files', () => {
  it('an unknown YAML tag is one line, and the parser prints nothing of its own', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): number => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await assertBadInput(
        () => parseScenario('clients:\n  - target: !foo tcp\nfaults: [kill]\n', 'tag.yaml'),
        /^tag\.yaml: not valid YAML: Unresolved tag: !foo at line 2, column 13$/,
      );
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });
});

describe('the demo without root', () => {
  it('--testbed proxy moves every experiment whose fault the proxy has, with its expectations', () => {
    const demo = readScenario(DEMO_SCENARIO);
    const proxy = onTestbed(demo, 'proxy');
    const onProxy = demo.specs.filter((s) => FAULT_DEFS[s.fault].testbeds.proxy !== undefined);
    assert.ok(onProxy.length < demo.specs.length, 'the demo has a fault the proxy lacks');
    assert.equal(proxy.specs.length, onProxy.length);
    assert.equal(proxy.expect.length, proxy.specs.length);
    assert.ok(proxy.specs.every((s) => s.testbed === 'proxy'));
    assert.match(proxy.name, /\(proxy testbed\)$/);
    assert.equal(onTestbed(demo, 'netns').specs.length, demo.specs.length);
  });

  it(
    'halfopen demo --testbed proxy runs as an unprivileged user',
    { skip: !asNobody && 'needs root and runuser' },
    async () => {
      chmodSync(work, 0o777);
      const out = join(work, 'demo');
      // Four at a time: the rest of the suite runs beside it on 2 cores.
      const r = await runCli(
        ['demo', '--testbed', 'proxy', '--parallel', '4', '--out', out, '--json'],
        {
          user: 'nobody',
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const { cells } = r.json<{ cells: { testbed: string }[] }>();
      assert.equal(cells.length, onTestbed(readScenario(DEMO_SCENARIO), 'proxy').specs.length);
      assert.ok(cells.every((c) => c.testbed === 'proxy'));
      assert.ok(readdirSync(out).includes('report.html'));
    },
  );
});
