/**
 * Fault parameters, each defined once: its CLI flag, its key in scenario files, its help, and how
 * its text fills the spec. A fault's definition lists the ones it takes; the CLI, scenario files
 * and validation all read them from there.
 */
import { EXPIRY_ACTIONS, type FaultFields } from './spec.js';
import { parseChoice } from '../strategies/parse.js';
import { parseDuration } from '../util/duration.js';
import { BadInputError } from '../errors.js';

export interface ParamOption {
  /** The key in a scenario file's fault entry (`idle_timeout`); the flag is `--idle-timeout`. */
  key: string;
  /** What the value looks like, for --help: `<duration>`. */
  arg: string;
  help: string;
  /** A fixed set of values (else a duration). */
  choices?: readonly string[];
  /** A switch: the flag takes no value (`--same-ip`), a scenario file's key is true or false. */
  switch?: true;
  /** Free text (a command), taken as given. */
  text?: true;
}

export interface FaultParam {
  /** The first option is the parameter itself; any others refine it (--jitter, --on-expiry). */
  options: readonly [ParamOption, ...ParamOption[]];
  /** A fault that takes it cannot do without it. */
  required: boolean;
  /** A scenario file may give it once for every fault that takes it (`heal: 5s`). */
  scenarioWide: boolean;
  /** The spec's field is set. */
  given(f: FaultFields): boolean;
  /** The fields its texts (by key) give; `name` says how an option is written where it came from. */
  fill(
    texts: Record<string, string | undefined>,
    name: (key: string) => string,
  ): Partial<FaultFields>;
}

export const flagOf = (key: string): string => `--${key.replace(/_/g, '-')}`;

/** Adds what one parameter filled to the fields so far (its own keys of `params` among them). */
export function mergeFields(into: FaultFields, part: Partial<FaultFields>): FaultFields {
  const { params, ...rest } = part;
  Object.assign(into, rest);
  if (params) into.params = { ...into.params, ...params };
  return into;
}

/**
 * A fault's own duration parameter, kept in the spec's `params` under its key: what a new fault
 * defines in its own file. `read` gives its value in ms (undefined when not given).
 */
export function durationParam(
  key: string,
  help: string,
  opts: { required?: boolean; scenarioWide?: boolean } = {},
): FaultParam & { read(f: FaultFields): number | undefined } {
  const read = (f: FaultFields): number | undefined => {
    const v = f.params?.[key];
    return typeof v === 'number' ? v : undefined;
  };
  return {
    options: [{ key, arg: '<duration>', help }],
    required: opts.required ?? false,
    scenarioWide: opts.scenarioWide ?? false,
    given: (f) => read(f) !== undefined,
    fill: (t, name) =>
      t[key] === undefined ? {} : { params: { [key]: parseDuration(t[key], name(key)) } },
    read,
  };
}

/**
 * A fault's own choice among fixed values (`--policy new|every`), kept in the spec's `params`;
 * `read` gives the value given, or the default.
 */
export function choiceParam<C extends string>(
  key: string,
  choices: readonly [C, ...C[]],
  help: string,
  fallback: C,
): FaultParam & { read(f: FaultFields): C } {
  return {
    options: [
      { key, arg: `<${choices.join('|')}>`, help: `${help} (default: ${fallback})`, choices },
    ],
    required: false,
    scenarioWide: false,
    given: (f) => f.params?.[key] !== undefined,
    fill: (t, name) =>
      t[key] === undefined ? {} : { params: { [key]: parseChoice(t[key], choices, name(key)) } },
    read: (f) => (f.params?.[key] as C | undefined) ?? fallback,
  };
}

/** A fault's own switch (`--same-ip`): its text is `yes` when given. `read` says whether it is on. */
export function switchParam(
  key: string,
  help: string,
): FaultParam & { read(f: FaultFields): boolean } {
  return {
    options: [{ key, arg: '', help, switch: true }],
    required: false,
    scenarioWide: false,
    given: (f) => f.params?.[key] === 'yes',
    fill: (t, name) => {
      const v = t[key];
      if (v === undefined || v === 'no') return {};
      if (v !== 'yes') throw new BadInputError(`${name(key)} takes no value (got '${v}')`);
      return { params: { [key]: 'yes' } };
    },
    read: (f) => f.params?.[key] === 'yes',
  };
}

/** A free text (a command), kept as given; `arg` says what it looks like for --help. */
export function textParam(
  key: string,
  arg: string,
  help: string,
): FaultParam & { read(f: FaultFields): string | undefined } {
  const read = (f: FaultFields): string | undefined => {
    const v = f.params?.[key];
    return typeof v === 'string' ? v : undefined;
  };
  return {
    options: [{ key, arg, help, text: true }],
    required: false,
    scenarioWide: false,
    given: (f) => read(f) !== undefined,
    fill: (t, name) => {
      const v = t[key];
      if (v === undefined) return {};
      if (v.trim() === '') throw new BadInputError(`${name(key)} is empty`);
      return { params: { [key]: v } };
    },
    read,
  };
}

export const HEAL: FaultParam = {
  options: [
    { key: 'heal', arg: '<duration>', help: 'remove the drop this long after T0, e.g. 5s' },
  ],
  required: false,
  scenarioWide: true,
  given: (f) => f.healMs !== null,
  fill: (t, name) => (t.heal === undefined ? {} : { healMs: parseDuration(t.heal, name('heal')) }),
};

export const RESTART: FaultParam = {
  options: [
    {
      key: 'restart',
      arg: '<duration>',
      help: 'start the target again this long after T0, as Kubernetes restarts a pod',
    },
  ],
  required: false,
  scenarioWide: true,
  given: (f) => f.restartMs !== null,
  fill: (t, name) =>
    t.restart === undefined ? {} : { restartMs: parseDuration(t.restart, name('restart')) },
};

export const LATENCY: FaultParam = {
  options: [
    { key: 'latency', arg: '<duration>', help: 'delay added each way, e.g. 200ms' },
    { key: 'jitter', arg: '<duration>', help: '+- this much, at random per chunk' },
  ],
  required: true,
  scenarioWide: false,
  given: (f) => f.latency !== undefined,
  fill: (t, name) =>
    t.latency === undefined && t.jitter === undefined
      ? {}
      : {
          latency: {
            ms: parseDuration(t.latency ?? '0', name('latency')),
            jitterMs: parseDuration(t.jitter ?? '0', name('jitter')),
          },
        },
};

export const IDLE_TIMEOUT: FaultParam = {
  options: [
    {
      key: 'idle_timeout',
      arg: '<duration>',
      help: 'the middlebox forgets a flow idle this long (whole seconds on netns), e.g. 350s as an AWS NLB',
    },
    {
      key: 'on_expiry',
      arg: '<drop|reset>',
      help: "a forgotten flow's next packet is dropped (Azure LB's default) or answered with RST (AWS NLB) (default: drop)",
      choices: EXPIRY_ACTIONS,
    },
  ],
  required: true,
  scenarioWide: false,
  given: (f) => f.idleTimeout !== undefined,
  fill(t, name) {
    if (t.on_expiry !== undefined && t.idle_timeout === undefined)
      throw new BadInputError(`${name('on_expiry')} needs ${name('idle_timeout')} <duration>`);
    return t.idle_timeout === undefined
      ? {}
      : {
          idleTimeout: {
            ms: parseDuration(t.idle_timeout, name('idle_timeout'), {
              min: 100,
              max: 6 * 3_600_000,
              range: 'from 100ms to 6h',
            }),
            onExpiry: parseChoice(t.on_expiry ?? 'drop', EXPIRY_ACTIONS, name('on_expiry')),
          },
        };
  },
};
