/**
 * docs/reference/faults.md: the fault registry (src/faults/): each fault's summary, parameters,
 * testbeds and what they need, and its predicted window for two example TCP clients, computed by
 * its formula as `halfopen run` would (nothing is run).
 */
import { predict } from '../advise/predict.js';
import { camelCase, specFromFlags, type RunFlags } from '../cli/run.js';
import { FAULT_DEFS, FAULTS, flagOf, type FaultDef, type FaultName } from '../faults/index.js';
import { TESTBEDS, type TestbedName } from '../faults/spec.js';
import { formatWindow } from '../report/human.js';
import { code, document, item, table, wrap } from './markdown.js';

/** Values for the parameters a fault cannot do without, in the example commands. */
const EXAMPLE_VALUES: Record<string, string> = { latency: '200ms', idle_timeout: '30s' };

/** The example clients: the README's first two, an idle keepalive client and a publisher. */
const CLIENTS = [
  { name: 'keepalive client', flags: { strategy: 'keepalive:idle=2s,interval=1s,count=3' } },
  { name: 'publisher', flags: { strategy: 'user-timeout:3s', workload: 'publish:10' } },
] as const;

/** Values for the parameters a fault cannot do without, by key, as the example commands give them. */
function requiredParams(fault: FaultName): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const param of FAULT_DEFS[fault].params)
    if (param.required)
      for (const o of param.options)
        if (EXAMPLE_VALUES[o.key] !== undefined) flags[o.key] = EXAMPLE_VALUES[o.key]!;
  return flags;
}

/** What `halfopen run` predicts for one example command, or why it refuses it. */
function predicted(fault: FaultName, testbed: TestbedName, client: RunFlagsPart): string {
  const params = requiredParams(fault);
  const flags: RunFlags = {
    testbed,
    fault,
    deadline: '30s',
    warmup: '1s',
    sysctl: [],
    ...client,
    ...Object.fromEntries(Object.entries(params).map(([k, v]) => [camelCase(k), v])),
  };
  try {
    const p = predict(specFromFlags(flags));
    return `${formatWindow(p.window)}: ${p.why}`;
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

type RunFlagsPart = (typeof CLIENTS)[number]['flags'];

/**
 * Each distinct prediction once, with the testbeds (and, where they differ, the clients) it is
 * for: `netns, proxy: 0 ms - 250 ms: ...`.
 */
function predictions(fault: FaultName, on: readonly TestbedName[]): string[] {
  const groups = new Map<string, Map<TestbedName, string[]>>();
  for (const t of on)
    for (const c of CLIENTS) {
      const text = predicted(fault, t, c.flags);
      const byTestbed = groups.get(text) ?? new Map<TestbedName, string[]>();
      byTestbed.set(t, [...(byTestbed.get(t) ?? []), c.name]);
      groups.set(text, byTestbed);
    }
  return [...groups].map(([text, byTestbed]) => {
    const where = [...byTestbed]
      .map(([t, names]) => (names.length === CLIENTS.length ? t : `${t} (${names.join(', ')})`))
      .join(', ');
    return item(`${where}: ${text}`, 1);
  });
}

function section(fault: FaultName): string {
  const def = FAULT_DEFS[fault];
  const on = TESTBEDS.filter((t) => def.testbeds[t] !== undefined);
  const lines: string[] = [item(`Testbeds: ${on.join(', ')}.`)];
  const params = def.params.flatMap((p) =>
    p.options.map((o, i) => {
      const how = [
        i === 0 && p.required ? 'required' : '',
        i === 0 && p.scenarioWide ? 'a scenario file may give it once for every fault' : '',
      ].filter(Boolean);
      const flag = o.switch ? flagOf(o.key) : `${flagOf(o.key)} ${o.arg}`;
      return item(
        `${code(flag)} (scenario key ${code(o.key)}${how.length ? `; ${how.join('; ')}` : ''}): ${o.help}`,
        1,
      );
    }),
  );
  lines.push(params.length ? item('Parameters:') : item('Parameters: none.'), ...params);
  const needs = on.flatMap((t) => {
    const impl = def.testbeds[t]!;
    const access = 'access' in impl ? (impl.access ?? []) : [];
    return [
      ...(impl.tools?.length ? [`${impl.tools.join(', ')} (${t})`] : []),
      ...(access.length ? [`access to ${access.join(', ')}: --node-access (${t})`] : []),
    ];
  });
  if (needs.length) lines.push(item(`Needs: ${needs.join('; ')}.`));
  if (def.peerAlive)
    lines.push(
      item('The path and the peer stay alive (only slower): any detection is a false disconnect.'),
    );
  // A testbed's way of making the fault may answer these its own way (kube, k8s).
  const own = <K extends 'takesSink' | 'reconnectFrom'>(t: TestbedName, key: K): FaultDef[K] => {
    const impl = def.testbeds[t] as unknown as Partial<Pick<FaultDef, K>>;
    // As the runner asks (runner/spec-questions.ts): an explicit null on the testbed wins.
    const v = impl[key];
    return v === undefined ? def[key] : v;
  };
  const sinkOn = on.filter((t) => own(t, 'takesSink'));
  if (sinkOn.length)
    lines.push(item(`It takes the sink down with the target's host (${sinkOn.join(', ')}).`));
  const fromDetection = on.filter((t) => own(t, 'reconnectFrom') === 'detection');
  const rest = on.filter((t) => !fromDetection.includes(t));
  const flowOnly = 'only the one flow or pod is gone: a new connection passes';
  const noReturn = 'without a heal or restart the path does not come back';
  // A fault that leaves the path and the peer alive has nothing to come back from.
  if (!def.peerAlive)
    lines.push(
      item(
        rest.length === 0
          ? `Reconnect is measured from the detection when nothing heals or restarts the path (${flowOnly}).`
          : fromDetection.length === 0
            ? `Reconnect is measured from a heal or a restart only (${noReturn}).`
            : `Reconnect without a heal or restart: measured from the detection on ${fromDetection.join(', ')} (${flowOnly}); not measured on ${rest.join(', ')} (the path does not come back).`,
      ),
    );
  lines.push(item('Predicted windows for the example clients:'), ...predictions(fault, on));
  return [`## ${fault}`, wrap(def.summary), lines.join('\n')].join('\n\n');
}

export function faultsReference(): string {
  const yes = (f: FaultName, t: TestbedName): string => (FAULT_DEFS[f].testbeds[t] ? 'yes' : '');
  const overview = table(
    ['fault', ...TESTBEDS, 'parameters'],
    FAULTS.map((f) => [
      `[${f}](#${f})`,
      ...TESTBEDS.map((t) => yes(f, t)),
      FAULT_DEFS[f].params.flatMap((p) => p.options.map((o) => flagOf(o.key))).join(' '),
    ]),
  );
  return document([
    '# Faults',
    wrap(
      'What goes wrong at T0: `halfopen run --fault <name>`, or `faults:` in a scenario file (by name, or as `{ fault: <name>, <parameter>: <value> }`). Each fault is one file in src/faults/ and is registered in src/faults/index.ts; a testbed without an entry cannot run it.',
    ),
    wrap(
      `The predicted windows below are each fault's formula for two example TCP clients, as \`halfopen run\` computes them before it runs (times after T0; the default deadline and warm-up): ${CLIENTS.map(
        (c) =>
          `the ${c.name}, ${code(
            Object.entries(c.flags)
              .map(([k, v]) => `--${k} ${v}`)
              .join(' '),
          )}`,
      ).join(', and ')}. A fault that needs a value is given ${Object.entries(EXAMPLE_VALUES)
        .map(([k, v]) => code(`${flagOf(k)} ${v}`))
        .join(
          ' or ',
        )}. \`never\` is the formula saying the client never notices; \`refused\` is what \`halfopen run\` answers to that command.`,
    ),
    overview,
    ...FAULTS.map(section),
  ]);
}
