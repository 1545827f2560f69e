/**
 * `halfopen demo`: a small default matrix on the netns testbed (the TCP client's strategies, and
 * NATS and MQTT on real brokers at short intervals, against the main faults), run a few at a
 * time, printed as one table. The matrix command with scenario files and the HTML report come
 * with issue #4; this is its seed.
 */
import { join } from 'node:path';
import { formatWindow } from '../report/human.js';
import { runExperiment, type ExperimentResult } from '../runner/experiment.js';
import {
  parseStrategy,
  parseWorkload,
  type ExperimentSpec,
  type FaultName,
} from '../scenario/spec.js';
import { newRunId } from '../testbeds/netns/names.js';
import { formatMs } from '../util/duration.js';
import { BadInputError } from '../errors.js';
import { TARGETS } from '../targets/index.js';
import { brokerPreflight, netnsPreflight } from '../testbeds/netns/preflight.js';
import { Progress } from './progress.js';
import { writeTimeline } from './run.js';

const STRATEGIES = [
  'none',
  'keepalive:idle=2s,interval=1s,count=3',
  'user-timeout:3s',
  'heartbeat:interval=1s,timeout=2s',
];
const FAULTS: { fault: FaultName; healMs: number | null }[] = [
  { fault: 'graceful', healMs: null },
  { fault: 'kill', healMs: null },
  { fault: 'partition', healMs: 8000 },
  { fault: 'reset', healMs: null },
];

/** NATS and MQTT at short intervals: a restarted broker, and a partition that heals. */
const BROKERS: { target: 'nats' | 'mqtt'; strategy: string }[] = [
  { target: 'nats', strategy: 'nats:ping=1s,maxout=2,wait=500ms,attempts=-1' },
  { target: 'mqtt', strategy: 'mqtt:keepalive=2s,reconnect=500ms' },
];
const BROKER_FAULTS: { fault: FaultName; healMs: number | null; restartMs: number | null }[] = [
  { fault: 'kill', healMs: null, restartMs: 2000 },
  { fault: 'partition', healMs: 6000, restartMs: null },
];

const base = {
  testbed: 'netns',
  workload: parseWorkload('publish:10'),
  restartMs: null,
  qos: 0,
  deadlineMs: 12_000,
  warmupMs: 1000,
  sysctls: {},
} as const;

export function demoSpecs(): ExperimentSpec[] {
  const tcp = FAULTS.flatMap(({ fault, healMs }) =>
    STRATEGIES.map((s) => ({
      ...base,
      target: 'tcp' as const,
      strategy: parseStrategy(s),
      fault,
      healMs,
    })),
  );
  const brokers = BROKERS.flatMap(({ target, strategy }) =>
    BROKER_FAULTS.map((f) => ({ ...base, target, strategy: parseStrategy(strategy), ...f })),
  );
  return [...tcp, ...brokers];
}

type Row = { spec: ExperimentSpec; result?: ExperimentResult; error?: string };

function table(rows: Row[]): string {
  const head = [
    'fault',
    'target',
    'strategy',
    'detect',
    'predicted',
    'verdict',
    'lost',
    'stale',
    'reconnect',
  ];
  const body = rows.map(({ result: r, spec, error }) =>
    r
      ? [
          r.fault,
          r.target,
          r.strategy,
          r.detect_ms === null ? '-' : formatMs(r.detect_ms),
          formatWindow(r.predicted_ms),
          r.verdict,
          String(r.lost),
          String(r.stale_sent),
          r.reconnect_ms === null ? '-' : formatMs(r.reconnect_ms),
        ]
      : [spec.fault, spec.target, '', '', '', `error: ${error ?? '?'}`, '', '', ''],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n');
}

export async function demoCommand(
  flags: { parallel: string; json?: boolean; out?: string },
  signal: AbortSignal,
): Promise<void> {
  const parallel = Number(flags.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) {
    throw new BadInputError(`--parallel '${flags.parallel}' must be an integer from 1 to 64`);
  }
  // A machine that cannot host the testbed fails the demo in one line, not in 16 table rows.
  await netnsPreflight();
  const specs = demoSpecs();
  for (const target of new Set(specs.map((s) => s.target))) {
    const broker = TARGETS[target].broker;
    if (broker) await brokerPreflight(broker);
  }
  const runId = newRunId();
  const outDir = flags.out ?? join('halfopen-runs', `demo-${runId}`);
  const rows: Row[] = specs.map((spec) => ({ spec }));
  const progress = new Progress(flags.json ? false : undefined);
  const started = Date.now();
  let next = 0;
  let done = 0;
  // A fixed pool: each worker takes the next experiment until none is left or the run is aborted.
  const worker = async (): Promise<void> => {
    while (next < rows.length && !signal.aborted) {
      const i = next++;
      const row = rows[i]!;
      try {
        row.result = await runExperiment(row.spec, { runId, index: i, signal });
        writeTimeline(join(outDir, String(i).padStart(2, '0')), row.result);
      } catch (err) {
        if (signal.aborted) throw err;
        row.error = err instanceof Error ? err.message : String(err);
      }
      done += 1;
      progress.update(`demo: ${done}/${rows.length} experiments done, ${parallel} at a time`);
    }
  };
  try {
    // allSettled: on Ctrl-C every worker finishes its own teardown before the demo exits.
    const settled = await Promise.allSettled(Array.from({ length: parallel }, worker));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    progress.clear();
  }
  const wallS = ((Date.now() - started) / 1000).toFixed(1);
  if (flags.json) {
    const results = rows.map((r) =>
      r.result ? { ...r.result, timeline: undefined } : { error: r.error },
    );
    process.stdout.write(`${JSON.stringify({ wall_s: Number(wallS), out: outDir, results })}\n`);
    return;
  }
  process.stdout.write(
    `${table(rows)}\n\n${rows.length} experiments in ${wallS} s (${parallel} at a time); timelines in ${outDir}\n`,
  );
}
