/**
 * The plain, serializable description of one experiment, and the checks that need more than one
 * field. Everything here is validated at the edge: a bad value becomes one BadInputError line and
 * nothing is created. What each fault, protocol and strategy allows is asked of its definition.
 */
import { KUBE_OPTIONS } from './kube.js';
import { BadInputError } from '../errors.js';
import {
  FAULT_DEFS,
  FAULT_PARAMS,
  FAULTS,
  faultsOn,
  faultsTaking,
  flagOf,
  type FaultDef,
  type FaultName,
} from '../faults/index.js';
import { PROTOCOLS, TARGETS, type TargetName } from '../protocols/index.js';
import {
  formatStrategy,
  KERNEL_KINDS,
  ownClientOnly,
  parseStrategy,
  type Strategy,
} from '../strategies/index.js';
import { formatDuration } from '../util/duration.js';
import {
  TESTBEDS,
  type FaultSpec,
  type OwnClient,
  type OwnServer,
  type TestbedName,
} from '../faults/spec.js';
import { formatWorkload, parseWorkload, type Workload } from '../core/workload.js';

export interface ExperimentSpec extends FaultSpec {
  fault: FaultName;
}

export { FAULTS, TARGETS, TESTBEDS, formatStrategy, parseStrategy, formatWorkload, parseWorkload };
export type { FaultName, Strategy, TargetName, TestbedName, Workload, OwnClient, OwnServer };
export { EXPIRY_ACTIONS, type ExpiryAction, type IdleTimeout } from '../faults/spec.js';
export { parseChoice, TCP_KEEPALIVE_MAX_S, WS_SIDES, type WsSide } from '../strategies/index.js';

/** Per-namespace TCP sysctls a user may set in the client namespace (net.ipv4.<name>). */
export const CLIENT_SYSCTLS: Record<string, [min: number, max: number]> = {
  tcp_retries1: [1, 255],
  tcp_retries2: [1, 255],
  tcp_syn_retries: [1, 127],
  tcp_keepalive_time: [1, 32767],
  tcp_keepalive_intvl: [1, 32767],
  tcp_keepalive_probes: [1, 127],
};

/** Your own client from its command (none: the built-in client), as the CLI and files give it. */
export function ownClientOf(
  command: string | undefined,
  detectLog: string | undefined,
  declared: boolean,
): OwnClient | undefined {
  return command === undefined ? undefined : { command, detectLog: detectLog ?? null, declared };
}

/** `--qos`: MQTT's quality of service, 0 (the default) or 1. */
export function parseQos(text: string | undefined): 0 | 1 {
  if (text === undefined || text === '0') return 0;
  if (text === '1') return 1;
  throw new BadInputError(`--qos '${text}' is not supported (expected 0 or 1)`);
}

export function parseSysctl(text: string, into: Record<string, number>): Record<string, number> {
  const m = /^(?:net\.ipv4\.)?([a-z0-9_]+)=(\d+)$/.exec(text);
  const range = m ? CLIENT_SYSCTLS[m[1]!] : undefined;
  if (!m || !range) {
    throw new BadInputError(
      `sysctl '${text}' is not allowed (expected <name>=<integer> with name one of ${Object.keys(CLIENT_SYSCTLS).join(', ')})`,
    );
  }
  const value = Number(m[2]);
  if (value < range[0] || value > range[1]) {
    throw new BadInputError(`sysctl '${text}': ${m[1]} must be from ${range[0]} to ${range[1]}`);
  }
  return { ...into, [m[1]!]: value };
}

/** The strategy kinds a client may have: its protocol's, and for your own program the kernel's. */
export function strategyKindsFor(target: TargetName, own: boolean): Strategy['kind'][] {
  const kinds = PROTOCOLS[target].strategies;
  return own ? [...new Set([...KERNEL_KINDS, ...kinds])] : [...kinds];
}

/** The targets that push to a subscribing client (a broker's sink, or the server itself). */
export const PUSHING: readonly TargetName[] = TARGETS.filter((t) => PROTOCOLS[t].pushes !== null);

/** Checks a fault's parameters: those it takes are given where required, no other is. */
function validateFaultParams(spec: ExperimentSpec): void {
  const def = FAULT_DEFS[spec.fault];
  for (const param of FAULT_PARAMS) {
    const flags = param.options.map((o) => flagOf(o.key));
    const takes = (def.params as readonly unknown[]).includes(param);
    if (!takes && param.given(spec)) {
      const owners = faultsTaking(param);
      throw new BadInputError(
        `${flags.join(' and ')} appl${flags.length > 1 ? 'y' : 'ies'} to the ${owners.join(', ')} fault${owners.length > 1 ? 's' : ''} only (fault is ${spec.fault})`,
      );
    }
    if (takes && param.required && !param.given(spec)) {
      const [first, ...rest] = param.options;
      const more = rest.map((o) => `${flagOf(o.key)} ${o.arg}`).join(', ');
      throw new BadInputError(
        `fault ${spec.fault} needs ${flagOf(first.key)} ${first.arg}${more ? ` (and optionally ${more})` : ''}`,
      );
    }
  }
}

/** How long after T0 a detection still counts. */
export const DEADLINE_BOUNDS = { min: 100, max: 24 * 3_600_000, range: 'from 100ms to 24h' };
/** How long the client is connected before the fault. */
export const WARMUP_BOUNDS = { min: 0, max: 600_000, range: 'at most 10m' };

/** Cross-field rules that a single flag cannot check. */
export function validateSpec(spec: ExperimentSpec): ExperimentSpec {
  const def = FAULT_DEFS[spec.fault];
  validateFaultParams(spec);
  if (spec.healMs !== null && spec.healMs >= spec.deadlineMs) {
    throw new BadInputError(
      `--heal ${formatDuration(spec.healMs)} must be shorter than --deadline ${formatDuration(spec.deadlineMs)}`,
    );
  }
  if (def.testbeds[spec.testbed] === undefined) {
    const where = TESTBEDS.find((t) => def.testbeds[t] !== undefined)!;
    throw new BadInputError(
      `fault ${spec.fault} is not available on the ${spec.testbed} testbed (it has: ${faultsOn(spec.testbed).join(', ')}); ${spec.fault} needs --testbed ${where}${where === 'netns' ? ' (root)' : ''}`,
    );
  }
  if (spec.testbed === 'proxy' && Object.keys(spec.sysctls).length > 0) {
    throw new BadInputError(
      '--sysctl needs the netns testbed (the proxy testbed runs on the host)',
    );
  }
  if (spec.testbed === 'k8s' && Object.keys(spec.sysctls).length > 0) {
    throw new BadInputError(
      '--sysctl is not applied on a real cluster (most TCP sysctls are unsafe for a pod: the kubelet must allow them); measure a setting your client makes itself, or --testbed netns or kube',
    );
  }
  def.validate?.(spec);
  const protocol = PROTOCOLS[spec.target];
  validateKube(spec, def);
  const kinds = strategyKindsFor(spec.target, spec.own !== undefined);
  if (spec.own) validateOwnClient(spec.own);
  if (spec.ownServer) validateOwnServer(spec);
  if (!kinds.includes(spec.strategy.kind)) {
    throw new BadInputError(
      `strategy '${formatStrategy(spec.strategy)}' does not apply to target ${spec.target} (expected ${kinds.join(' or ')}, e.g. ${protocol.defaultStrategy})`,
    );
  }
  // Another library's rule describes your own program; the built-in client has its own.
  const ownOnly = spec.own ? null : ownClientOnly(spec.strategy);
  if (ownOnly !== null)
    throw new BadInputError(`strategy '${formatStrategy(spec.strategy)}': ${ownOnly}`);
  if (spec.workload.kind === 'subscribe' && protocol.pushes === null) {
    throw new BadInputError(
      `workload '${formatWorkload(spec.workload)}' needs a target that pushes (${PUSHING.join(', ')}); the ${spec.target} server only receives`,
    );
  }
  if (spec.qos !== 0 && !protocol.qos) {
    throw new BadInputError(
      `--qos applies to target ${TARGETS.filter((t) => PROTOCOLS[t].qos).join(', ')} only (target is ${spec.target})`,
    );
  }
  if (spec.restartMs !== null && spec.restartMs >= spec.deadlineMs) {
    throw new BadInputError(
      `--restart ${formatDuration(spec.restartMs)} must be shorter than --deadline ${formatDuration(spec.deadlineMs)}`,
    );
  }
  // Checked where the text is parsed too, so that the message quotes what was typed.
  if (spec.warmupMs > WARMUP_BOUNDS.max) {
    throw new BadInputError(
      `--warmup ${formatDuration(spec.warmupMs)} must be ${WARMUP_BOUNDS.range}`,
    );
  }
  if (spec.deadlineMs < DEADLINE_BOUNDS.min || spec.deadlineMs > DEADLINE_BOUNDS.max) {
    throw new BadInputError(
      `--deadline ${formatDuration(spec.deadlineMs)} must be ${DEADLINE_BOUNDS.range}`,
    );
  }
  return spec;
}

/**
 * The cluster settings (kube, and a real cluster's k8s): given only there, and what its fault and
 * target can do.
 */
function validateKube(spec: ExperimentSpec, def: FaultDef): void {
  if (spec.testbed !== 'kube' && spec.testbed !== 'k8s') {
    if (spec.kube)
      throw new BadInputError(
        `${KUBE_OPTIONS.slice(0, 4)
          .map((o) => flagOf(o.key))
          .join(', ')} and the Kubernetes delays apply to --testbed kube and k8s only`,
      );
    return;
  }
  const kube = spec.kube;
  if (!kube) throw new BadInputError('internal: a kube spec without its cluster settings');
  const target = PROTOCOLS[spec.target].target;
  if (kube.replicas > target.maxReplicas)
    throw new BadInputError(
      `--replicas ${kube.replicas}: the ${spec.target} target runs at most ${target.maxReplicas}`,
    );
  if (
    spec.workload.kind === 'subscribe' &&
    PROTOCOLS[spec.target].pushes === 'sink' &&
    kube.replicas > 1
  )
    throw new BadInputError(
      `workload '${formatWorkload(spec.workload)}' on ${kube.replicas} ${spec.target} replicas is not supported yet (each replica's sink would publish); use --replicas 1 or a publish workload`,
    );
  if (spec.restartMs !== null)
    throw new BadInputError(
      `--restart does not apply on the ${spec.testbed} testbed: pods come back as Kubernetes brings them back (statefulset-replace, rollout)`,
    );
  if (spec.testbed === 'k8s') {
    if (kube.timeScale !== 1)
      throw new BadInputError(
        '--time-scale applies to the kube testbed only: a real cluster keeps its own time',
      );
    def.testbeds.k8s?.validate?.(spec);
  } else def.testbeds.kube?.validate?.(spec);
}

function validateOwnClient(own: OwnClient): void {
  if (own.command.trim() === '') throw new BadInputError('--client-cmd is empty');
  if (own.detectLog !== null) {
    try {
      new RegExp(own.detectLog);
    } catch (err) {
      throw new BadInputError(
        `--detect-log '${own.detectLog}' is not a regular expression: ${(err as Error).message}`,
      );
    }
  }
}

/** Your own server: where it can run, and what the lab cannot ask of it. */
function validateOwnServer(spec: ExperimentSpec): void {
  if (spec.ownServer!.command.trim() === '') throw new BadInputError('--server-cmd is empty');
  if (spec.testbed === 'k8s')
    throw new BadInputError(
      '--server-cmd runs on the netns, proxy and kube testbeds; on a real cluster your server is your own workload: watch it with halfopen k8s watch',
    );
  if (spec.workload.kind === 'subscribe' && PROTOCOLS[spec.target].pushes === 'target')
    throw new BadInputError(
      `workload '${formatWorkload(spec.workload)}' with --server-cmd: the lab cannot tell your ${spec.target} server when to push; use a publish or idle workload`,
    );
}
