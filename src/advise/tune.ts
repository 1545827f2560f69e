/**
 * Settings that notice a silent peer within a target time without calling a healthy but slow
 * peer dead: for each strategy the target's client has, the least chatty setting whose predicted
 * window on a silent path (partition, node loss) ends by the target, whose timeout still lets a
 * healthy answer be as late as the user says it can be, and whose probes cross more often than
 * the shortest idle timeout on the path. Pure: the CLI prints it and `--verify` measures it.
 * Each strategy kind's search is in its definition (src/strategies/); the facts behind the
 * formulas are in docs/facts.md.
 */
import { PROTOCOLS, type TargetName } from '../protocols/index.js';
import type { ExperimentSpec } from '../scenario/spec.js';
import type { Workload } from '../core/workload.js';
import { defaultKube } from '../core/kube.js';
import type { TestbedName } from '../faults/spec.js';
import {
  formatStrategy,
  STRATEGIES,
  type Strategy,
  type StrategyDef,
} from '../strategies/index.js';
import type { Made, TuneAsk } from '../strategies/tune-kit.js';
import { predict, type Window } from './predict.js';
import { sec } from '../core/window.js';

export interface TuneRequest {
  target: TargetName;
  workload: Workload;
  qos: 0 | 1;
  /** Notice a silent peer within this, at worst (ms after it went silent). */
  withinMs: number;
  /** A healthy peer's answer may be this late (round trip, jitter, GC and event-loop pauses). */
  tolerateMs: number;
  /** The shortest idle timeout of a middlebox on the path (a load balancer's), if known. */
  idleTimeoutMs: number | null;
  /** The client library whose rule applies (an `--emit` library's `lib=`); default the lab's. */
  lib?: string;
}

export interface Recommendation {
  /** The strategy family, e.g. `heartbeat`, `nats`. */
  kind: Strategy['kind'];
  /** The setting, or null when no setting of this family meets the request. */
  strategy: Strategy | null;
  /** Its predicted detection window on a silent path. */
  window: Window | null;
  /** How often it puts a packet on an idle connection (what keeps a middlebox's flow alive). */
  probeEveryMs: number | null;
  /** How late a healthy answer may be before this setting calls the peer dead. */
  toleratesMs: number | null;
  /** How the numbers were chosen, or why none fit. */
  why: string;
  /** What else the user must know (a server's ping policy, a publishing socket). */
  notes: string[];
}

export { IDLE_MARGIN } from '../strategies/tune-kit.js';

/** The experiment that measures a setting for this request: a partition, or a slow path. */
export function tuneSpec(
  req: Pick<TuneRequest, 'target' | 'workload' | 'qos'>,
  strategy: Strategy,
  fault: 'partition' | 'latency' | 'node-loss' | 'network-policy',
  testbed: TestbedName,
  deadlineMs: number,
  latency?: { ms: number; jitterMs: number },
): ExperimentSpec {
  return {
    // On kube, the target's replicas behind a Service (one where several brokers' sinks would all
    // publish to a subscriber).
    ...(testbed === 'kube' || testbed === 'k8s'
      ? {
          kube: defaultKube(
            req.workload.kind === 'subscribe' && PROTOCOLS[req.target].pushes === 'sink'
              ? 1
              : PROTOCOLS[req.target].target.defaultReplicas,
          ),
        }
      : {}),
    testbed,
    target: req.target,
    strategy,
    workload: req.workload,
    fault,
    healMs: null,
    restartMs: null,
    ...(latency ? { latency } : {}),
    qos: req.qos,
    deadlineMs,
    warmupMs: 1000,
    sysctls: {},
  };
}

/** The predicted window of a strategy on a silent path, as the runner would predict it. */
function silentWindow(req: TuneRequest, strategy: Strategy): Window | null {
  return predict(tuneSpec(req, strategy, 'partition', 'netns', req.withinMs)).window;
}

function recommend<S extends Strategy>(
  req: TuneRequest,
  kind: Strategy['kind'],
  make: () => Made<S> | string,
  notes: string[] = [],
): Recommendation {
  const made = make();
  if (typeof made !== 'string') notes = [...(made.notes ?? []), ...notes];
  if (typeof made === 'string')
    return {
      kind,
      strategy: null,
      window: null,
      probeEveryMs: null,
      toleratesMs: null,
      why: made,
      notes,
    };
  const window = silentWindow(req, made.strategy);
  if (window === null || window[1] > req.withinMs)
    return {
      kind,
      strategy: null,
      window,
      probeEveryMs: null,
      toleratesMs: null,
      why: `${formatStrategy(made.strategy)} would notice ${window ? `only by ${sec(window[1])}` : 'never'}: ${made.why}`,
      notes,
    };
  const { strategy, probeEveryMs, toleratesMs, why } = made;
  return { kind, strategy, window, probeEveryMs, toleratesMs, why, notes };
}

/**
 * For each strategy of the target's client that `tune` can search (its definition says how), the
 * least chatty setting that meets the request, or why none does.
 */
export function tune(req: TuneRequest): Recommendation[] {
  const ask: TuneAsk = req;
  return PROTOCOLS[req.target].strategies.flatMap((kind) => {
    const def = STRATEGIES[kind] as unknown as StrategyDef<Strategy>;
    const search = def.tune;
    return search ? [recommend(req, kind, () => search(ask), [...def.tuneNotes])] : [];
  });
}
