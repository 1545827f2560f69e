/**
 * `halfopen show` on real runs, made here through the proxy testbed (no root): a TCP publisher at
 * 20 messages a second with a 1 s heartbeat, partitioned by a blackhole and healed at 3 s (so the
 * timeline has hundreds of sent and received messages, the fault, the detection, the heal and the
 * reconnect), and a matrix of two experiments.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveShowInput, showOptions } from '../src/cli/show.js';
import { parseTimeline, renderEvents, showEvents, t0Of } from '../src/report/show.js';
import { assertBadInput, runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'halfopen-test-show-'));
const run = join(dir, 'run');
const matrix = join(dir, 'matrix');

/** A line of the timeline: "  -941.0  client  sent  x 10, seq 1..10, until -41.0". */
const LINE = /^ *(-?\d+\.\d) {2}(\S+(?: \S+)?) +(\S+)(?: {2,}(.*))?$/;
const parse = (out: string): { ms: number; process: string; type: string; detail: string }[] =>
  out
    .split('\n\n')[1]!
    .trim()
    .split('\n')
    .map((l) => {
      const m = LINE.exec(l);
      assert.ok(m, `a timeline line: ${l}`);
      return { ms: Number(m[1]), process: m[2]!.trim(), type: m[3]!, detail: m[4] ?? '' };
    });

const entries = (): { src: string; type: string }[] =>
  readFileSync(join(run, 'timeline.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { src: string; type: string });

describe('halfopen show', () => {
  before(async () => {
    writeFileSync(
      join(dir, 'scenario.yaml'),
      `name: show test
clients: [{ target: tcp, strategies: ['heartbeat:interval=1s,timeout=2s'] }]
workloads: [publish:10]
faults: [reset, kill]
testbeds: [proxy]
deadline: 10s
`,
    );
    const [r, m] = await Promise.all([
      runCli([
        'run',
        '--testbed',
        'proxy',
        '--fault',
        'partition',
        '--heal',
        '3s',
        '--strategy',
        'heartbeat:interval=1s,timeout=2s',
        '--workload',
        'publish:20',
        '--out',
        run,
        '--json',
      ]),
      runCli(['matrix', join(dir, 'scenario.yaml'), '--parallel', '4', '--out', matrix, '--json']),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(m.code, 0, m.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--all: every event in time order, in ms from the fault, which is at 0', async () => {
    const r = await runCli(['show', run, '--all']);
    assert.equal(r.code, 0, r.stderr);
    const lines = parse(r.stdout);
    assert.equal(lines.length, entries().length, 'one line per event');
    for (let i = 1; i < lines.length; i++)
      assert.ok(lines[i]!.ms >= lines[i - 1]!.ms, `in order at ${i}: ${JSON.stringify(lines[i])}`);
    const fault = lines.find((l) => l.type === 'fault' && l.detail === 'partition start');
    assert.deepEqual(fault, { ms: 0, process: 'lab', type: 'fault', detail: 'partition start' });
    assert.ok(lines[0]!.ms < 0, 'the target started before the fault');
    // The header: what ran, and what the result says (its detection, as the timeline has it).
    const result = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8')) as {
      detect_ms: number;
    };
    assert.match(
      r.stdout,
      /^halfopen show: tcp client, strategy heartbeat:interval=1s,timeout=2s, workload publish:20, fault partition, healed at 3.00 s \(proxy\)$/m,
    );
    assert.match(
      r.stdout,
      /^ {2}result {5}detected \d\.\d\d s after the fault \(heartbeat-timeout\); predicted 2.00 s - 3.00 s: \w+/m,
    );
    const detected = lines.find((l) => l.type === 'detected')!;
    assert.ok(
      Math.abs(detected.ms - result.detect_ms) <= 0.1,
      `${detected.ms} vs ${result.detect_ms}`,
    );
    assert.ok(lines.some((l) => l.type === 'heal' && Math.abs(l.ms - 3000) < 500));
  });

  it('by default, runs of repeated events are one line each, and every event is counted', async () => {
    const r = await runCli(['show', run]);
    assert.equal(r.code, 0, r.stderr);
    const lines = parse(r.stdout);
    const all = entries();
    assert.ok(lines.length < all.length / 3, `${lines.length} lines for ${all.length} events`);
    assert.match(r.stdout, /timer-lateness reports hidden; repeated events collapsed: --all/);
    // Every message the client sent is on a line, alone or in a run: "x 37, seq 12..48, until 3602.1".
    let sent = 0;
    for (const l of lines.filter((x) => x.process === 'client' && x.type === 'sent')) {
      const m = /^x (\d+), seq (\d+)\.\.(\d+), until (-?\d+\.\d)$/.exec(l.detail);
      if (!m) {
        assert.match(l.detail, /^seq \d+$/);
        sent += 1;
        continue;
      }
      assert.equal(Number(m[1]), Number(m[3]) - Number(m[2]) + 1, l.detail);
      assert.ok(Number(m[4]) > l.ms, l.detail);
      sent += Number(m[1]);
    }
    assert.equal(sent, all.filter((e) => e.src === 'client' && e.type === 'sent').length);
    // A run never hides the fault: the sends before it and after it are separate lines.
    const at = lines.findIndex((l) => l.type === 'fault');
    assert.ok(
      lines.slice(0, at).every((l) => Number(/until (-?\d+\.\d)$/.exec(l.detail)?.[1] ?? -1) < 0),
    );
  });

  it('--json: every event in the window with ms from the fault', async () => {
    const r = await runCli(['show', join(run, 'timeline.jsonl'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json<{
      t0_ns: string;
      result: { verdict: string };
      events: { ms: number; process: string; type: string; seq?: number }[];
    }>();
    assert.equal(j.events.length, entries().length, 'every event, none collapsed');
    assert.ok(/^\d+$/.test(j.t0_ns));
    assert.equal(typeof j.result.verdict, 'string');
    const fault = j.events.find((e) => e.type === 'fault')!;
    assert.equal(fault.ms, 0);
    assert.ok(j.events.some((e) => e.type === 'sent' && typeof e.seq === 'number'));
    const window = await runCli(['show', run, '--json', '--from', '-500ms', '--to', '2s']);
    const w = window.json<{ events: { ms: number }[] }>().events;
    assert.ok(w.length > 0 && w.every((e) => e.ms >= -500 && e.ms <= 2000));
  });

  it('filters: --only, --from and --to', async () => {
    const r = await runCli(['show', run, '--only', 'client,lab', '--from', '-1s', '--to', '4s']);
    assert.equal(r.code, 0, r.stderr);
    const lines = parse(r.stdout);
    assert.deepEqual([...new Set(lines.map((l) => l.process))].sort(), ['client', 'lab']);
    assert.ok(lines.every((l) => l.ms >= -1000 && l.ms <= 4000));
    // In-process: the same selection as the CLI makes.
    const es = parseTimeline(readFileSync(join(run, 'timeline.jsonl'), 'utf8'), () => new Error());
    const shown = showEvents(es, t0Of(es)!, showOptions({ only: 'target' }, false));
    assert.ok(shown.length > 0 && shown.every((e) => e.process === 'target'));
  });

  it('colour only when asked (a terminal without NO_COLOR); never in a pipe', async () => {
    const es = parseTimeline(readFileSync(join(run, 'timeline.jsonl'), 'utf8'), () => new Error());
    const shown = showEvents(es, t0Of(es)!);
    const ESC = '\u001b[';
    assert.ok(renderEvents(shown, { color: true }).join('\n').includes(`${ESC}36mclient`));
    assert.ok(!renderEvents(shown).join('\n').includes(ESC));
    const piped = await runCli(['show', run]);
    assert.ok(!piped.stdout.includes(ESC), 'no colour in a pipe');
  });

  it('a matrix: its experiments listed; an index picks one', async () => {
    const r = await runCli(['show', matrix]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^halfopen show: matrix "show test" \(.*matrix\), 2 experiments$/m);
    assert.match(
      r.stdout,
      /^ {2}0 {6}000-tcp-reset +tcp heartbeat:interval=1s,timeout=2s publish:10 +reset +\w/m,
    );
    assert.match(r.stdout, /^ {2}1 {6}001-tcp-kill +tcp .* +kill +\w/m);
    assert.match(r.stdout, /^show .*matrix\/<dir> \(or: show .*matrix <index>\)/m);
    const one = await runCli(['show', join(matrix, 'summary.json'), '1']);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^halfopen show: tcp client, .* fault kill \(proxy\)$/m);
    assert.match(one.stdout, /001-tcp-kill\/timeline\.jsonl: \d+ events/);
    const byDir = await runCli(['show', join(matrix, '001-tcp-kill')]);
    assert.equal(byDir.stdout, one.stdout);
  });

  it('bad inputs: one line quoting the path', async () => {
    await assertBadInput(
      () => resolveShowInput('no/such/run'),
      /show: 'no\/such\/run' does not exist/,
    );
    await assertBadInput(() => resolveShowInput(tmpdir()), /holds neither timeline.jsonl/);
    await assertBadInput(
      () => resolveShowInput(run, '0'),
      /an index picks one experiment of a matrix/,
    );
    await assertBadInput(
      () => resolveShowInput(matrix, '7'),
      /has no experiment 7 \(indexes 0 to 1\)/,
    );
    await assertBadInput(() => showOptions({ only: 'client,kernel' }, false), /--only: 'kernel'/);
    await assertBadInput(
      () => showOptions({ from: '2s', to: '-1s' }, false),
      /--from 2s is after --to -1s/,
    );
    await assertBadInput(
      () => showOptions({ from: 'soon' }, false),
      /--from: 'soon' is not a duration/,
    );
  });
});
