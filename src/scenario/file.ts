/**
 * Scenario files: a matrix of experiments in YAML or JSON, validated at the edge and expanded into
 * plain specs. Structure is checked by a zod schema (exported as JSON Schema for editors); the
 * strings inside (strategies, workloads, durations) by the same parsers `halfopen run` uses. Any
 * mistake becomes one line naming the field, the value and what was expected.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { mergeExpectations, parseExpectations, type Expectation } from '../report/expect.js';
import { DURATION_PATTERN, parseDuration, type DurationBounds } from '../util/duration.js';
import { PROTOCOLS, type TargetName } from '../protocols/index.js';
import {
  FAULT_DEFS,
  FAULT_PARAMS,
  faultsTaking,
  mergeFields,
  type FaultName,
} from '../faults/index.js';
import type { FaultFields, TestbedName } from '../faults/spec.js';
import { KUBE_OPTIONS, kubeFromTexts } from './kube.js';
import { KUBE_DELAYS, SERVICE_FORMS, defaultKube, type KubeSettings } from '../core/kube.js';
import {
  DEADLINE_BOUNDS,
  WARMUP_BOUNDS,
  FAULTS,
  TARGETS,
  TESTBEDS,
  parseSysctl,
  parseStrategy,
  parseWorkload,
  ownClientOf,
  validateSpec,
  type ExperimentSpec,
} from './spec.js';

const KUBE_HELP: Record<string, string> = Object.fromEntries(
  KUBE_OPTIONS.map((o) => [o.key, o.help]),
);
const kubeHelp = (key: string): string => KUBE_HELP[key] ?? key;

/** Expectations: `"detect<=15s, lost=0"` or a list of clauses. */
const expectField = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe(
    'what every cell must show, as --expect takes it: "detect<=15s, lost=0, verdict=inside" or a list of clauses',
  );

const duration = z
  .string()
  .regex(DURATION_PATTERN, 'a duration such as 500ms, 2s, 1m or 1h30m')
  .describe('a duration: 500ms, 2s, 1.5s, 1m, 1h, 1h30m');

/** The kube testbed's cluster: one block, or a list of variants (each runs every experiment). */
const kubeBlock = z
  .object({
    replicas: z.number().int().min(1).max(5).optional().describe(kubeHelp('replicas')),
    service: z.enum(SERVICE_FORMS).optional().describe(kubeHelp('service')),
    time_scale: z.number().positive().max(10).optional().describe(kubeHelp('time_scale')),
    advertise: z.boolean().optional().describe(kubeHelp('advertise')),
    ...Object.fromEntries(
      KUBE_DELAYS.map((d) => [d.key, duration.optional().describe(kubeHelp(d.key))]),
    ),
  })
  .strict();

/** One schema field per fault parameter, described with the faults that take it. */
const paramFields = Object.fromEntries(
  FAULT_PARAMS.flatMap((param) =>
    param.options.map((o) => [
      o.key,
      (o.switch
        ? z.boolean()
        : o.choices
          ? z.enum(o.choices as [string, ...string[]])
          : o.text
            ? z.string().min(1)
            : duration
      )
        .optional()
        .describe(`${faultsTaking(param).join(', ')}: ${o.help}`),
    ]),
  ),
);
const paramKeys = FAULT_PARAMS.flatMap((p) => p.options.map((o) => o.key));

const faultName = z.enum(FAULTS).describe('the fault, by name');
const faultEntry = z.union(
  [z.enum(FAULTS), z.object({ fault: faultName, ...paramFields }).strict()],
  {
    error: `expected a fault (${FAULTS.join(', ')}) or { fault, ${paramKeys.join(', ')} }`,
  },
);

/** Parameters a scenario may give once for every fault that takes them (`heal: 5s`). */
const scenarioWide = Object.fromEntries(
  FAULT_PARAMS.filter((p) => p.scenarioWide).map((p) => [
    p.options[0].key,
    duration.optional().describe(`${faultsTaking(p).join(', ')} faults: ${p.options[0].help}`),
  ]),
);

const TESTBEDS_HELP = 'where to run; every experiment runs on each: netns, proxy, kube, k8s';

export const scenarioSchema = z
  .object({
    name: z.string().min(1).optional().describe('shown in the report'),
    clients: z
      .array(
        z
          .object({
            target: z.enum(TARGETS).describe('the server side under test'),
            command: z
              .string()
              .min(1)
              .optional()
              .describe(
                'your own client instead of the built-in one: a shell command, as --client-cmd takes it',
              ),
            detect_log: z
              .string()
              .optional()
              .describe(
                "with command: a regex; a matching line of the program's output is a detection",
              ),
            server_command: z
              .string()
              .min(1)
              .optional()
              .describe(
                "your own server in the target's place: a shell command, as --server-cmd takes it",
              ),
            strategies: z
              .array(z.string())
              .min(1)
              .optional()
              .describe("strategy specs, as --strategy takes them (default: the library's own)"),
            workloads: z
              .array(z.string())
              .min(1)
              .optional()
              .describe("overrides the scenario's workloads for this client"),
            qos: z
              .array(z.union([z.literal(0), z.literal(1)]))
              .min(1)
              .optional()
              .describe('mqtt: QoS levels to run'),
            expect: expectField
              .optional()
              .describe(
                "this client's cells: replaces the scenario's clause on the same measurement",
              ),
          })
          .strict(),
      )
      .min(1)
      .describe('each client is a target and the strategies to try against it'),
    workloads: z
      .array(z.string())
      .min(1)
      .default(['idle'])
      .describe('idle, publish:<rate>, subscribe:<rate>'),
    faults: z.array(faultEntry).min(1).describe('faults, by name or with their own heal/restart'),
    testbeds: z.array(z.enum(TESTBEDS)).min(1).default(['netns']).describe(TESTBEDS_HELP),
    repetitions: z.number().int().min(1).max(100).default(1).describe('runs per experiment'),
    expect: expectField.optional(),
    deadline: duration.default('30s').describe('how long after T0 detection may take'),
    warmup: duration.default('1s').describe('connected time before the fault'),
    ...scenarioWide,
    sysctls: z
      .record(z.string(), z.number().int())
      .default({})
      .describe('net.ipv4 sysctls for the client namespace, e.g. tcp_retries2: 5'),
    kube: z
      .union([kubeBlock, z.array(kubeBlock).min(1)])
      .optional()
      .describe('the kube testbed: replicas, the Service, the time-scale and Kubernetes delays'),
  })
  .strict();

export type ScenarioFile = z.infer<typeof scenarioSchema>;

/** The JSON Schema editors use to check a scenario file as it is written. */
export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input' });
}

export interface Scenario {
  name: string;
  specs: ExperimentSpec[];
  /** Each spec's expectations (by index): the scenario's, with its client's replacing. */
  expect: Expectation[][];
}

/** `clients[0].strategies[1]` from a zod issue path. */
function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`))
    .join('');
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as never)[p] : undefined;
  return v;
}

/** Runs a parser on a field's text; its BadInputError is prefixed with where the text was. */
function at<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BadInputError) throw new BadInputError(`${field}: ${err.message}`);
    throw err;
  }
}

/**
 * For a value no option of a union accepts: when one option got further into it (an object with
 * one bad field), that field's issue says more than "no option matched".
 */
function specific(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const deepest = issue.errors
    .flat()
    .reduce<z.core.$ZodIssue | undefined>(
      (best, i) => (i.path.length > (best?.path.length ?? 0) ? i : best),
      undefined,
    );
  return deepest ? { ...deepest, path: [...issue.path, ...deepest.path] } : issue;
}

/**
 * A YAML file's data. The parser's warnings (an unknown tag such as `!foo`) are errors here: the
 * file would not mean what it says. Nothing is printed by the parser itself.
 */
function yamlData(text: string): unknown {
  const doc = parseDocument(text, { logLevel: 'silent' });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new Error(problem.message);
  return doc.toJS();
}

/** Parses and validates a scenario file's text, and expands it into experiment specs. */
export function parseScenario(text: string, source: string): Scenario {
  let data: unknown;
  try {
    data = source.endsWith('.json') ? JSON.parse(text) : yamlData(text);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err))
      .split('\n')[0]!
      .replace(/:$/, '');
    throw new BadInputError(
      `${source}: not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${why}`,
    );
  }
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success) {
    const issue = specific(parsed.error.issues[0]!);
    // An unknown key is named as the field itself.
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const field = fieldName(path) || '(the file)';
    const value = valueAt(data, path);
    const shown = value === undefined ? 'missing' : `${JSON.stringify(value)}`.slice(0, 80);
    const why =
      issue.code === 'unrecognized_keys'
        ? 'not a field here (see `halfopen schema`)'
        : value === undefined
          ? `required (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})`
          : issue.message;
    throw new BadInputError(`${source}: ${field}: ${shown}: ${why}`);
  }
  return { name: parsed.data.name ?? source, ...expand(parsed.data, source) };
}

/**
 * The kube settings each experiment of a client runs with: one per variant of the kube block on
 * the kube testbed (its texts parsed as the flags are), none elsewhere.
 */
function kubeVariants(
  f: ScenarioFile,
  testbed: TestbedName,
  target: TargetName,
  source: string,
): (KubeSettings | undefined)[] {
  const blocks = f.kube === undefined ? [] : Array.isArray(f.kube) ? f.kube : [f.kube];
  const settings = blocks.map((block, i) => {
    const texts: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(block))
      texts[k] =
        typeof v === 'boolean' ? (v ? 'yes' : 'no') : v === undefined ? undefined : String(v);
    const at_ = Array.isArray(f.kube) ? `kube[${i}]` : 'kube';
    return at(`${source}: ${at_}`, () => kubeFromTexts(texts, target, (k) => `${at_}.${k}`));
  });
  if (testbed !== 'kube' && testbed !== 'k8s') {
    if (!f.testbeds.includes('kube') && !f.testbeds.includes('k8s') && f.kube !== undefined)
      throw new BadInputError(
        `${source}: kube: applies to the kube and k8s testbeds only (testbeds: ${f.testbeds.join(', ')})`,
      );
    return [undefined];
  }
  const fallback = defaultKube(PROTOCOLS[target].target.defaultReplicas);
  return settings.length === 0 ? [fallback] : settings.map((k) => k ?? fallback);
}

function expand(
  f: ScenarioFile,
  source: string,
): { specs: ExperimentSpec[]; expect: Expectation[][] } {
  const wideExpect =
    f.expect === undefined ? [] : at(source, () => parseExpectations(f.expect!, 'expect'));
  const ms = (text: string, field: string, bounds?: DurationBounds): number =>
    at(`${source}`, () => parseDuration(text, field, bounds));
  const sysctls = Object.entries(f.sysctls).reduce<Record<string, number>>(
    (acc, [k, v]) => at(`${source}: sysctls.${k}`, () => parseSysctl(`${k}=${v}`, acc)),
    {},
  );
  const wide = f as unknown as Record<string, string | undefined>;
  const faults = f.faults.map((entry, i) => {
    const e = (typeof entry === 'string' ? { fault: entry } : entry) as Record<string, string> & {
      fault: FaultName;
    };
    const def = FAULT_DEFS[e.fault];
    const fields: FaultFields = { healMs: null, restartMs: null };
    for (const param of FAULT_PARAMS) {
      const texts: Record<string, string | undefined> = {};
      for (const o of param.options) {
        const v = e[o.key] as unknown;
        texts[o.key] = v === true ? 'yes' : v === false ? 'no' : (v as string | undefined);
      }
      // A scenario-wide value applies to the faults that take the parameter.
      const first = param.options[0].key;
      if (texts[first] === undefined && param.scenarioWide && def.params.includes(param))
        texts[first] = wide[first];
      mergeFields(
        fields,
        at(`${source}: faults[${i}]`, () =>
          param.fill(texts, (key) =>
            e[key] === undefined && key === first ? first : `faults[${i}].${key}`,
          ),
        ),
      );
    }
    return { fault: e.fault, ...fields };
  });
  const specs: ExperimentSpec[] = [];
  const expect: Expectation[][] = [];
  f.clients.forEach((client, c) => {
    const clientExpect =
      client.expect === undefined
        ? wideExpect
        : mergeExpectations(
            wideExpect,
            at(source, () => parseExpectations(client.expect!, `clients[${c}].expect`)),
          );
    if (client.detect_log !== undefined && client.command === undefined)
      throw new BadInputError(
        `${source}: clients[${c}].detect_log: applies to a client with a command only`,
      );
    const own = ownClientOf(client.command, client.detect_log, client.strategies !== undefined);
    const fallback = own ? 'none' : PROTOCOLS[client.target].defaultStrategy;
    const strategies = (client.strategies ?? [fallback]).map((s, i) =>
      at(`${source}: clients[${c}].strategies[${i}]`, () => parseStrategy(s)),
    );
    const workloadField = client.workloads ? `clients[${c}].workloads` : 'workloads';
    const workloads = (client.workloads ?? f.workloads).map((w, i) =>
      at(`${source}: ${workloadField}[${i}]`, () => parseWorkload(w)),
    );
    const qosLevels = client.qos ?? [0];
    for (const testbed of f.testbeds)
      for (const strategy of strategies)
        for (const workload of workloads)
          for (const qos of qosLevels)
            for (const fault of faults)
              for (const kube of kubeVariants(f, testbed, client.target, source))
                for (let r = 0; r < f.repetitions; r++) {
                  const spec: ExperimentSpec = {
                    ...(kube ? { kube } : {}),
                    testbed,
                    target: client.target,
                    ...(own ? { own } : {}),
                    ...(client.server_command !== undefined
                      ? { ownServer: { command: client.server_command } }
                      : {}),
                    strategy,
                    workload,
                    qos,
                    ...fault,
                    deadlineMs: ms(f.deadline, 'deadline', DEADLINE_BOUNDS),
                    warmupMs: ms(f.warmup, 'warmup', WARMUP_BOUNDS),
                    sysctls,
                  };
                  specs.push(
                    at(`${source}: clients[${c}] with fault ${fault.fault}`, () =>
                      validateSpec(spec),
                    ),
                  );
                  expect.push(clientExpect);
                }
  });
  return { specs, expect };
}
