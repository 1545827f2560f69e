/**
 * The two sides of `halfopen compare`, read: a matrix's summary.json (or its directory), or one
 * run's result.json (or its directory), which becomes a summary of one cell. Anything else is one
 * line that quotes the path as the user typed it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../errors.js';
import { faultLabel, stats, targetLabel } from './cells.js';
import type { Side, SummaryCell } from './compare.js';
import { SUMMARY_SCHEMA } from './summary.js';

const quote = (p: string): string => `'${p}'`;

function readJson(typed: string, file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new BadInputError(`compare: cannot read ${quote(typed)} (${code})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadInputError(
      `compare: ${quote(typed)} is not JSON (expected a summary.json, a result.json or a directory holding one)`,
    );
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A result.json has these; a summary's cell has its own set. */
const RESULT_KEYS = ['testbed', 'target', 'strategy', 'workload', 'fault', 'verdict', 'lost'];
const CELL_KEYS = ['testbed', 'target', 'strategy', 'workload', 'fault_label', 'runs', 'verdicts'];

/** One run's result as a summary's cell: one repetition. */
export function cellOfResult(r: Record<string, unknown>): SummaryCell {
  const num = (k: string): number | null => {
    const v = r[k];
    return typeof v === 'number' ? v : null;
  };
  const one = (v: number | null): SummaryCell['detect_ms'] => (v === null ? null : stats([v]));
  const latency = r.latency as { ms: number; jitter_ms: number } | null | undefined;
  const idle = r.idle_timeout as { ms: number; on_expiry: 'drop' | 'reset' } | null | undefined;
  const kube = r.kube as { replicas: number; service: string; advertise: boolean } | null;
  const client = typeof r.client === 'string' ? r.client : '';
  const command = client.startsWith('your command: ') ? client.slice(14) : null;
  const declared = r.strategy !== 'unknown (your program)';
  const cmd = command && command.length > 40 ? `${command.slice(0, 39)}…` : command;
  const detect = num('detect_ms');
  return {
    testbed: String(r.testbed),
    // Results are read back from files: their names are strings, as the labels print them.
    target: targetLabel({ target: r.target, kube: kube ?? undefined } as Parameters<
      typeof targetLabel
    >[0]),
    strategy:
      command === null
        ? String(r.strategy)
        : `${declared ? String(r.strategy) : 'unknown'} (${cmd})`,
    workload: String(r.workload),
    qos: r.qos === 0 || r.qos === 1 ? r.qos : null,
    fault: String(r.fault),
    fault_label: faultLabel({
      fault: r.fault,
      healMs: num('heal_ms'),
      restartMs: num('restart_ms'),
      latency: latency ? { ms: latency.ms, jitterMs: latency.jitter_ms } : null,
      idleTimeout: idle ? { ms: idle.ms, onExpiry: idle.on_expiry } : null,
      params: (r.fault_params as Record<string, number | string> | undefined) ?? {},
    } as unknown as Parameters<typeof faultLabel>[0]),
    runs: 1,
    detected: detect === null ? 0 : 1,
    detect_ms: one(detect),
    predicted_ms: (r.predicted_ms as [number, number] | null | undefined) ?? null,
    verdicts: { [String(r.verdict)]: 1 },
    lost: one(num('lost')),
    stale_sent: one(num('stale_sent')),
    reconnect_ms: one(num('reconnect_ms')),
    errors: [],
    // `halfopen run --expect` writes its outcomes into result.json; a plain run has none.
    expect: Array.isArray(r.expect) ? (r.expect as SummaryCell['expect']) : [],
  };
}

/**
 * Reads one side: a summary.json, a matrix directory, a result.json or a run's directory. Anything
 * else is one line quoting the path as typed.
 */
export function loadSide(typed: string): Side {
  if (!existsSync(typed))
    throw new BadInputError(`compare: ${quote(typed)} does not exist (no such file or directory)`);
  let file = typed;
  if (statSync(typed).isDirectory()) {
    const found = ['summary.json', 'result.json'].map((n) => join(typed, n)).find(existsSync);
    if (!found)
      throw new BadInputError(
        `compare: ${quote(typed)} holds neither summary.json (a matrix) nor result.json (a run)`,
      );
    file = found;
  }
  const doc = readJson(typed, file);
  if (!isObject(doc))
    throw new BadInputError(
      `compare: ${quote(typed)} is not a summary or a result (not an object)`,
    );
  if ('schema' in doc) {
    if (doc.schema !== SUMMARY_SCHEMA)
      throw new BadInputError(
        `compare: ${quote(typed)} has schema ${JSON.stringify(doc.schema)}; this halfopen reads ${SUMMARY_SCHEMA}`,
      );
    const cells = doc.cells;
    if (!Array.isArray(cells) || !cells.every((c) => isObject(c) && CELL_KEYS.every((k) => k in c)))
      throw new BadInputError(
        `compare: ${quote(typed)}: its cells are not ${SUMMARY_SCHEMA} cells`,
      );
    return {
      path: typed,
      file,
      kind: 'matrix',
      title: typeof doc.title === 'string' ? doc.title : '',
      run_id: typeof doc.run_id === 'string' ? doc.run_id : null,
      started_at: typeof doc.started_at === 'string' ? doc.started_at : null,
      cells: cells as SummaryCell[],
    };
  }
  if (!RESULT_KEYS.every((k) => k in doc))
    throw new BadInputError(
      `compare: ${quote(typed)} is neither a summary (${SUMMARY_SCHEMA}) nor a run's result.json`,
    );
  return {
    path: typed,
    file,
    kind: 'run',
    title: `${String(doc.target)} ${String(doc.strategy)}, ${String(doc.fault)}`,
    run_id: null,
    started_at: null,
    cells: [cellOfResult(doc)],
  };
}
