/**
 * Scenario files: a matrix of experiments in YAML or JSON, validated at the edge and expanded into
 * plain specs. Structure is checked by a zod schema (exported as JSON Schema for editors); the
 * strings inside (strategies, workloads, durations) by the same parsers `halfopen run` uses. Any
 * mistake becomes one line naming the field, the value and what was expected.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import {
  EXPIRY_ACTIONS,
  FAULTS,
  TARGETS,
  TARGET_STRATEGIES,
  TESTBEDS,
  parseSysctl,
  parseStrategy,
  parseWorkload,
  ownClientOf,
  validateSpec,
  type ExperimentSpec,
} from './spec.js';

const duration = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, 'a duration such as 500ms, 2s or 1m')
  .describe('a duration: 500ms, 2s, 1.5s, 1m, 1h');

const faultEntry = z.union(
  [
    z.enum(FAULTS),
    z
      .object({
        fault: z.enum(FAULTS),
        heal: duration.optional().describe('partition: remove the drop this long after T0'),
        restart: duration
          .optional()
          .describe('graceful, kill, node-loss: start the target again this long after T0'),
        latency: duration.optional().describe('latency: delay added each way (proxy testbed)'),
        jitter: duration.optional().describe('latency: +- this much, at random'),
        idle_timeout: duration
          .optional()
          .describe(
            'idle-timeout: the middlebox forgets a flow idle this long (netns: whole seconds)',
          ),
        on_expiry: z
          .enum(EXPIRY_ACTIONS)
          .optional()
          .describe("idle-timeout: a forgotten flow's next packet is dropped (default) or reset"),
      })
      .strict(),
  ],
  {
    error: `expected a fault (${FAULTS.join(', ')}) or { fault, heal, restart, latency, jitter, idle_timeout, on_expiry }`,
  },
);

export const scenarioSchema = z
  .object({
    name: z.string().min(1).optional().describe('shown in the report'),
    clients: z
      .array(
        z
          .object({
            target: z.enum(TARGETS),
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
    testbeds: z.array(z.enum(TESTBEDS)).min(1).default(['netns']),
    repetitions: z.number().int().min(1).max(100).default(1),
    deadline: duration.default('30s').describe('how long after T0 detection may take'),
    warmup: duration.default('1s'),
    heal: duration.optional().describe('partition faults: heal this long after T0'),
    restart: duration.optional().describe('graceful, kill, node-loss: restart after this long'),
    sysctls: z
      .record(z.string(), z.number().int())
      .default({})
      .describe('net.ipv4 sysctls for the client namespace, e.g. tcp_retries2: 5'),
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

/** Parses and validates a scenario file's text, and expands it into experiment specs. */
export function parseScenario(text: string, source: string): Scenario {
  let data: unknown;
  try {
    data = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
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
  return { name: parsed.data.name ?? source, specs: expand(parsed.data, source) };
}

function expand(f: ScenarioFile, source: string): ExperimentSpec[] {
  const ms = (text: string, field: string): number =>
    at(`${source}: ${field}`, () => parseDuration(text, field));
  const sysctls = Object.entries(f.sysctls).reduce<Record<string, number>>(
    (acc, [k, v]) => at(`${source}: sysctls.${k}`, () => parseSysctl(`${k}=${v}`, acc)),
    {},
  );
  const faults = f.faults.map((entry, i) => {
    const e = typeof entry === 'string' ? { fault: entry } : entry;
    const heal = e.heal ?? (e.fault === 'partition' ? f.heal : undefined);
    const restart =
      'restart' in e && e.restart !== undefined
        ? e.restart
        : ['graceful', 'kill', 'node-loss'].includes(e.fault)
          ? f.restart
          : undefined;
    const latency =
      'latency' in e || 'jitter' in e
        ? {
            latency: {
              ms: ms(('latency' in e && e.latency) || '0', `faults[${i}].latency`),
              jitterMs: ms(('jitter' in e && e.jitter) || '0', `faults[${i}].jitter`),
            },
          }
        : {};
    if ('on_expiry' in e && e.on_expiry !== undefined && !('idle_timeout' in e && e.idle_timeout))
      throw new BadInputError(`${source}: faults[${i}].on_expiry: needs idle_timeout too`);
    const idle =
      'idle_timeout' in e || 'on_expiry' in e
        ? {
            idleTimeout: {
              ms: ms(('idle_timeout' in e && e.idle_timeout) || '0', `faults[${i}].idle_timeout`),
              onExpiry: ('on_expiry' in e && e.on_expiry) || 'drop',
            },
          }
        : {};
    return {
      fault: e.fault,
      healMs: heal === undefined ? null : ms(heal, `faults[${i}].heal`),
      restartMs: restart === undefined ? null : ms(restart, `faults[${i}].restart`),
      ...latency,
      ...idle,
    };
  });
  const specs: ExperimentSpec[] = [];
  f.clients.forEach((client, c) => {
    if (client.detect_log !== undefined && client.command === undefined)
      throw new BadInputError(
        `${source}: clients[${c}].detect_log: applies to a client with a command only`,
      );
    const own = ownClientOf(client.command, client.detect_log, client.strategies !== undefined);
    const fallback = own ? 'none' : TARGET_STRATEGIES[client.target].default;
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
              for (let r = 0; r < f.repetitions; r++) {
                const spec: ExperimentSpec = {
                  testbed,
                  target: client.target,
                  ...(own ? { own } : {}),
                  strategy,
                  workload,
                  qos,
                  ...fault,
                  deadlineMs: ms(f.deadline, 'deadline'),
                  warmupMs: ms(f.warmup, 'warmup'),
                  sysctls,
                };
                specs.push(
                  at(`${source}: clients[${c}] with fault ${fault.fault}`, () =>
                    validateSpec(spec),
                  ),
                );
              }
  });
  return specs;
}
