/**
 * docs/reference/strategies.md: the strategy registry (src/strategies/): each kind, its keys and
 * defaults, the targets whose client takes it, and its window on a silent path, computed by its
 * formula for the example in its form.
 */
import { formatWindow } from '../report/human.js';
import { parseWorkload } from '../core/workload.js';
import { PROTOCOLS, TARGETS } from '../protocols/index.js';
import {
  KERNEL_KINDS,
  parseStrategy,
  silentPath,
  STRATEGIES,
  STRATEGY_KINDS,
  type StrategyKind,
} from '../strategies/index.js';
import { code, document, item, table, wrap } from './markdown.js';

/** The workloads the windows are given for. */
const WORKLOADS = ['idle', 'publish:10', 'subscribe:10'] as const;

/** The usage without its optional parts: what a spec must give at least. */
const requiredForm = (usage: string): string => usage.replace(/\[[^\]]*\]/g, '');

const targetsOf = (kind: StrategyKind): string[] =>
  TARGETS.filter((t) => PROTOCOLS[t].strategies.includes(kind)).map((t) =>
    PROTOCOLS[t].defaultStrategy === kind ? `${t} (default)` : t,
  );

function section(kind: StrategyKind): string {
  const def = STRATEGIES[kind];
  const example = requiredForm(def.usage);
  const kernel = KERNEL_KINDS.includes(kind);
  const lines = [
    item(
      `Form: ${code(def.usage)}${def.usage.includes('[') ? ' (the parts in [...] are optional)' : ''}.`,
    ),
    item(
      `Targets: ${targetsOf(kind).join(', ')}${kernel ? "; and your own client (--client-cmd) on any target: it is a TCP socket's setting, which any program can make" : ''}.`,
    ),
  ];
  if (def.keys.length === 0)
    lines.push(
      item(
        `Keys: none${def.usage.includes(':') ? ': the value after the colon is its one setting' : ''}.`,
      ),
    );
  else {
    lines.push(item('Keys:'));
    for (const k of def.keys)
      lines.push(
        item(
          `${code(k.key)} (${k.required ? 'required' : k.default !== undefined ? `default ${code(k.default)}` : 'optional'}): ${k.help}`,
          1,
        ),
      );
  }
  lines.push(
    item(`Window on a silent path (no packet reaches the client after T0), for ${code(example)}:`),
  );
  // Each distinct window once, with the workloads it is for.
  const strategy = parseStrategy(example);
  const byText = new Map<string, string[]>();
  for (const w of WORKLOADS) {
    const p = silentPath(strategy, { workload: parseWorkload(w), sysctls: {}, qos: 0 });
    const text = `${formatWindow(p.window)}: ${p.why}`;
    byText.set(text, [...(byText.get(text) ?? []), w]);
  }
  for (const [text, ws] of byText) lines.push(item(`${ws.join(', ')}: ${text}`, 1));
  if (def.tuneNotes.length) {
    lines.push(item('With a setting from `halfopen tune`:'));
    for (const n of def.tuneNotes) lines.push(item(n, 1));
  }
  return [`## ${kind}`, wrap(def.help), lines.join('\n')].join('\n\n');
}

export function strategiesReference(): string {
  return document([
    '# Strategies',
    wrap(
      "How a client notices a dead peer: `halfopen run --strategy <spec>`, `halfopen tune`'s output, or `strategies:` under a client in a scenario file. Each kind is one file in src/strategies/, registered in src/strategies/index.ts; a target's client takes the kinds its protocol lists. Without `--strategy` a client has its library's defaults (the target's default below).",
    ),
    wrap(
      "The windows are each kind's formula for a silent path (a partition, a lost node), the default sysctls and QoS 0, as the lab predicts before it runs; a fault's own formula may differ (see faults.md). Times are after T0; `never` is the formula saying the client never notices.",
    ),
    table(
      ['kind', 'targets', 'TCP socket setting'],
      STRATEGY_KINDS.map((k) => [
        `[${k}](#${k})`,
        targetsOf(k).join(', '),
        KERNEL_KINDS.includes(k) ? 'yes' : '',
      ]),
    ),
    ...STRATEGY_KINDS.map(section),
  ]);
}
