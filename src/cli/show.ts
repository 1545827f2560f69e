/**
 * `halfopen show <run dir | result.json | timeline.jsonl | matrix dir | summary.json> [index]`:
 * an experiment's timeline in the terminal, or a matrix's experiments to pick one from.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { BadInputError } from '../errors.js';
import {
  parseTimeline,
  PROCESSES,
  renderEvents,
  renderHeader,
  renderListing,
  showEvents,
  t0Of,
  type ShowOptions,
} from '../report/show.js';
import { SUMMARY_SCHEMA } from '../report/summary.js';
import { parseDuration } from '../util/duration.js';

export interface ShowFlags {
  from?: string;
  to?: string;
  only?: string;
  all?: boolean;
  json?: boolean;
}

const quote = (p: string): string => `'${p}'`;

/** A duration relative to T0, negative before it: `-2s`, `500ms`. */
export function parseOffset(text: string, what: string): number {
  const t = text.trim();
  const neg = t.startsWith('-');
  const ms = parseDuration(neg ? t.slice(1) : t.replace(/^\+/, ''), what);
  return neg ? -ms : ms;
}

export function showOptions(f: ShowFlags, color: boolean): ShowOptions {
  const opts: ShowOptions = { all: f.all === true, color };
  if (f.from !== undefined) opts.fromMs = parseOffset(f.from, '--from');
  if (f.to !== undefined) opts.toMs = parseOffset(f.to, '--to');
  if (opts.fromMs !== undefined && opts.toMs !== undefined && opts.fromMs > opts.toMs)
    throw new BadInputError(`--from ${f.from} is after --to ${f.to}`);
  if (f.only !== undefined) {
    const only = f.only.split(',').map((p) => p.trim());
    for (const p of only)
      if (!(PROCESSES as readonly string[]).includes(p))
        throw new BadInputError(
          `--only: '${p}' is not a process (expected some of ${PROCESSES.join(',')})`,
        );
    opts.only = only;
  }
  return opts;
}

function readJson(typed: string, file: string): Record<string, unknown> {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc))
      return doc as Record<string, unknown>;
  } catch {
    // not JSON: said below
  }
  throw new BadInputError(`show: ${quote(typed)} is not a result.json or summary.json`);
}

/** What the path is: a matrix (its summary) or one experiment (its timeline, and result if any). */
type Input =
  | { kind: 'matrix'; dir: string; summary: Record<string, unknown> }
  | { kind: 'run'; timeline: string; result: Record<string, unknown> | null };

export function resolveShowInput(typed: string, index?: string): Input {
  if (!existsSync(typed)) throw new BadInputError(`show: ${quote(typed)} does not exist`);
  let input: Input;
  if (statSync(typed).isDirectory()) {
    if (existsSync(join(typed, 'summary.json')))
      input = { kind: 'matrix', dir: typed, summary: readJson(typed, join(typed, 'summary.json')) };
    else if (existsSync(join(typed, 'timeline.jsonl'))) {
      const res = join(typed, 'result.json');
      input = {
        kind: 'run',
        timeline: join(typed, 'timeline.jsonl'),
        result: existsSync(res) ? readJson(res, res) : null,
      };
    } else
      throw new BadInputError(
        `show: ${quote(typed)} holds neither timeline.jsonl (a run) nor summary.json (a matrix)`,
      );
  } else if (typed.endsWith('.jsonl')) {
    const res = join(dirname(typed), 'result.json');
    input = { kind: 'run', timeline: typed, result: existsSync(res) ? readJson(res, res) : null };
  } else {
    const doc = readJson(typed, typed);
    if (doc.schema === SUMMARY_SCHEMA)
      input = { kind: 'matrix', dir: dirname(typed), summary: doc };
    else {
      const tl = join(dirname(typed), 'timeline.jsonl');
      if (!('verdict' in doc) || !existsSync(tl))
        throw new BadInputError(
          `show: ${quote(typed)} is not a result.json with its timeline.jsonl beside it, nor a ${SUMMARY_SCHEMA} summary`,
        );
      input = { kind: 'run', timeline: tl, result: doc };
    }
  }
  if (index === undefined) return input;
  if (input.kind !== 'matrix')
    throw new BadInputError(
      `show: an index picks one experiment of a matrix; ${quote(typed)} is one run`,
    );
  const exps = (input.summary.experiments ?? []) as Record<string, unknown>[];
  const exp = exps.find((x) => String(x.index) === index.trim());
  if (!exp)
    throw new BadInputError(
      `show: ${quote(typed)} has no experiment ${index} (indexes ${exps.length ? `${String(exps[0]!.index)} to ${String(exps.at(-1)!.index)}` : 'none'})`,
    );
  if (exp.result === undefined)
    throw new BadInputError(
      `show: experiment ${index} of ${quote(typed)} failed: ${String(exp.error)}`,
    );
  return resolveShowInput(experimentDir(input.dir, exp));
}

/** An experiment's directory inside the matrix directory (summary.json has it as written then). */
const experimentDir = (dir: string, exp: Record<string, unknown>): string =>
  join(dir, basename(String(exp.dir)));

export function showCommand(path: string, index: string | undefined, f: ShowFlags): void {
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR && !f.json;
  const opts = showOptions(f, color);
  const input = resolveShowInput(path, index);
  if (input.kind === 'matrix') {
    const exps = (input.summary.experiments ?? []) as Record<string, unknown>[];
    if (f.json) {
      const list = exps.map((x) => {
        const r = x.result as Record<string, unknown> | undefined;
        return {
          index: x.index,
          dir: experimentDir(input.dir, x),
          ...(r
            ? { target: r.target, strategy: r.strategy, workload: r.workload, fault: r.fault }
            : {}),
          ...(r ? { verdict: r.verdict } : { error: x.error }),
        };
      });
      process.stdout.write(`${JSON.stringify({ matrix: input.dir, experiments: list })}\n`);
    } else {
      const shown = path.replace(/\/summary\.json$/, '').replace(/\/+$/, '') || '.';
      process.stdout.write(
        `${renderListing({ title: input.summary.title, experiments: exps }, shown, (x) => basename(String(x.dir)), color)}\n`,
      );
    }
    return;
  }
  let text: string;
  try {
    text = readFileSync(input.timeline, 'utf8');
  } catch (err) {
    throw new BadInputError(
      `show: cannot read ${quote(input.timeline)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const entries = parseTimeline(
    text,
    (line) =>
      new BadInputError(`show: ${quote(input.timeline)} line ${line} is not a timeline event`),
  );
  const t0 = t0Of(entries);
  if (t0 === undefined)
    throw new BadInputError(`show: ${quote(input.timeline)} has no fault (T0) to count from`);
  // JSON is for machines: every event in the window, none collapsed or hidden.
  const events = showEvents(entries, t0, f.json ? { ...opts, all: true } : opts);
  if (f.json) {
    process.stdout.write(
      `${JSON.stringify({
        timeline: input.timeline,
        result: input.result,
        t0_ns: t0.toString(),
        events: events.map((e) => {
          const { t: _t, src: _s, type: _ty, ...fields } = e.entry;
          return { ms: e.ms, process: e.process, type: e.entry.type, ...fields };
        }),
      })}\n`,
    );
    return;
  }
  const detected = showEvents(entries, t0, { only: ['client'] }).find(
    (e) => e.type === 'detected' && e.ms >= 0,
  );
  const fault = entries.find((e) => e.t === t0);
  const header = renderHeader(
    input.result,
    {
      path: input.timeline,
      events: entries.length,
      fault: fault ? String(fault.name) : null,
      detectMs: detected?.ms ?? null,
    },
    color,
  );
  const lines = renderEvents(events, opts);
  const hidden = opts.all
    ? 0
    : showEvents(entries, t0, { ...opts, all: true }).filter((e) => e.type === 'lateness').length;
  const note = [
    hidden ? `${hidden} timer-lateness report${hidden === 1 ? '' : 's'} hidden` : '',
    opts.all ? '' : 'repeated events collapsed',
  ].filter(Boolean);
  process.stdout.write(
    `${[...header, ...(note.length ? [`             (${note.join('; ')}: --all shows every line)`] : []), '', ...lines].join('\n')}\n`,
  );
}

export function addShowCommand(program: Command): void {
  program
    .command('show')
    .description("print an experiment's timeline: every process's events in ms from the fault")
    .argument(
      '<path>',
      'a run directory, result.json or timeline.jsonl; or a matrix directory or summary.json (lists its experiments)',
    )
    .argument('[index]', 'with a matrix: the experiment to show, by its index')
    .option(
      '--from <duration>',
      'only events from this long after the fault (negative: before it, e.g. -2s)',
    )
    .option('--to <duration>', 'only events up to this long after the fault')
    .option('--only <processes>', `only these processes (some of ${PROCESSES.join(',')})`)
    .option(
      '--all',
      'every event on its own line (repeated events are collapsed by default; timer-lateness reports shown)',
    )
    .option(
      '--json',
      'print one JSON object: the result and every event in the window (none collapsed or hidden), with ms from the fault',
    )
    .addHelpText(
      'after',
      `
Each line: ms from the fault (T0; negative before it), the process (client, target, sink, lab,
kube; a replica's pod on the kube testbed), the event and its details. Consecutive repeated
events of one process (a publisher's sent, the sink's recv, pings, connection attempts) are one
line, "x 37, seq 12..48, until 3602.1", until something else happens. Colour only on a terminal
and without NO_COLOR.

Examples:
  halfopen show halfopen-runs/12396-9b06
  halfopen show halfopen-runs/12396-9b06/timeline.jsonl --from -1s --to 5s --only client,lab
  halfopen show halfopen-runs/matrix-20001-ab12            # list the experiments
  halfopen show halfopen-runs/matrix-20001-ab12 3 --all
  halfopen show halfopen-runs/12396-9b06 --json | jq '.events[] | select(.type == "detected")'`,
    )
    .action((path: string, index: string | undefined, flags: ShowFlags) =>
      showCommand(path, index, flags),
    );
}
