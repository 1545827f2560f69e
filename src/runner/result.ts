/**
 * An experiment's result, computed from what it recorded alone: the spec, the prediction, the
 * timeline up to the stop, the wire's counters and a few facts (versions, the flow the fault hit).
 * No I/O, no clock: the same inputs always give the same result.
 */
import type { TimelineEntry } from '../events.js';
import { LabError } from '../errors.js';
import {
  allowanceMs,
  verdict,
  type LabSlack,
  type Prediction,
  type Verdict,
} from '../advise/predict.js';
import { formatStrategy, formatWorkload, type ExperimentSpec } from '../scenario/spec.js';
import type { BoundFault } from '../testbeds/types.js';
import { msBetween } from '../util/clock.js';
import { FAULT_DEFS } from '../faults/index.js';
import { computeMetrics, type MetricOptions, type Metrics } from './metrics.js';
import { qosOf, reconnectFrom } from './spec-questions.js';

export interface ExperimentResult extends Metrics {
  testbed: string;
  target: string;
  /** The broker binary and its version, or the lab's own server. */
  target_version: string;
  /** The client library and its version. */
  client: string;
  strategy: string;
  workload: string;
  /** MQTT QoS of publish and subscribe; null for other targets. */
  qos: 0 | 1 | null;
  fault: string;
  heal_ms: number | null;
  restart_ms: number | null;
  /** The latency fault's delay each way and its jitter, in ms. */
  latency: { ms: number; jitter_ms: number } | null;
  /** The idle-timeout fault's timeout and what the middlebox does with a forgotten flow. */
  idle_timeout: { ms: number; on_expiry: 'drop' | 'reset' } | null;
  deadline_ms: number;
  sysctls: Record<string, number>;
  predicted_ms: [number, number] | null;
  predicted_why: string;
  verdict: Verdict;
  /** Packets matched by each fault rule in the router, e.g. { 'partition:0': 4 }. */
  wire: Record<string, number>;
  /** Socket options the kernel reported for the client's first connection (TCP client). */
  sockopts: Record<string, number | boolean>;
  /** When the lab applied the fault: from T0 until it was in force. */
  fault_apply_ms: number | null;
  /**
   * How far beyond the window the verdict allowed, [below min, above max]: 25 ms + 1 % of the
   * bound, plus timer_lateness_ms, plus fault_apply_ms above the max (core/window.ts).
   */
  allowance_ms: [number, number] | null;
  /** The connection the fault hit, as the client namespace's kernel listed it. */
  flow: { client: string; server: string } | null;
  /** The fault's own parameters by key (`policy`, `same_ip`, ...). */
  fault_params: Record<string, number | string>;
  /**
   * kube: the cluster, the pod the client's connection was on at T0 and at the stop (null: none
   * open then), and the Kubernetes events, in ms from T0.
   */
  kube: {
    replicas: number;
    service: string;
    time_scale: number;
    advertise: boolean;
    pod_at_fault: string | null;
    pod_at_stop: string | null;
    /** Their addresses: a replacement keeps the name, not the address. */
    ip_at_fault: string | null;
    ip_at_stop: string | null;
    events: { at_ms: number; object: string; name: string; change: string }[];
  } | null;
  /** Every status event the client's library emitted, in ms from T0 (negative: before it). */
  events: { at_ms: number; name: string; detail?: string }[];
  timeline: TimelineEntry[];
}

/** How the metrics are computed for this experiment. */
export function metricOptions(spec: ExperimentSpec): MetricOptions {
  return {
    reconnectFrom: reconnectFrom(spec),
    workload: spec.workload.kind,
    deadlineMs: spec.deadlineMs,
    countGaps: spec.own !== undefined,
  };
}

/** What the result is computed from. */
export interface ResultInputs {
  spec: ExperimentSpec;
  prediction: Prediction;
  /** The timeline up to the stop (a fault's start mark, T0, among them). */
  entries: readonly TimelineEntry[];
  /** What the testbed counted on the wire, by rule or toxic. */
  counters: Record<string, number>;
  /** The target that ran and its version. */
  targetVersion: string;
  /** The lab's client library and its version (unused for your own client). */
  clientLibrary: string;
  /** The client's connection the fault hit, when the testbed could tell. */
  flow: BoundFault['flow'];
}

const tenths = (ms: number): number => Math.round(ms * 10) / 10;

/** The result, but for the `timeline` itself (which the caller attaches). */
export function buildResult(inputs: ResultInputs): Omit<ExperimentResult, 'timeline'> {
  const { spec, prediction, entries, flow } = inputs;
  const t0 = entries.find((e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'start')?.t;
  if (t0 === undefined) throw new LabError('the timeline has no fault start (T0)');
  const applied = entries.find(
    (e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'applied',
  )?.t;
  const connected = entries.find((e) => e.src === 'client' && e.type === 'connected');
  const metrics = computeMetrics(entries, metricOptions(spec));
  const applyMs = applied !== undefined ? tenths(msBetween(t0, applied)) : null;
  // What the lab measured of its own imprecision in this experiment.
  const slack: LabSlack = { latenessMs: metrics.timer_lateness_ms ?? 0, applyMs: applyMs ?? 0 };
  return {
    testbed: spec.testbed,
    target: spec.target,
    target_version: inputs.targetVersion,
    client: spec.own ? `your command: ${spec.own.command}` : inputs.clientLibrary,
    strategy:
      spec.own && !spec.own.declared ? 'unknown (your program)' : formatStrategy(spec.strategy),
    workload: formatWorkload(spec.workload),
    qos: qosOf(spec),
    fault: spec.fault,
    heal_ms: spec.healMs,
    restart_ms: spec.restartMs,
    latency: spec.latency ? { ms: spec.latency.ms, jitter_ms: spec.latency.jitterMs } : null,
    idle_timeout: spec.idleTimeout
      ? { ms: spec.idleTimeout.ms, on_expiry: spec.idleTimeout.onExpiry }
      : null,
    deadline_ms: spec.deadlineMs,
    sysctls: spec.sysctls,
    ...metrics,
    predicted_ms: prediction.window ? [prediction.window[0], prediction.window[1]] : null,
    predicted_why: prediction.why,
    verdict: notInForce(spec, entries, applied, metrics.detect_ms, t0)
      ? 'fault not in force'
      : verdict(
          metrics.detect_ms,
          prediction.window,
          spec.deadlineMs,
          prediction.unknown === true,
          slack,
        ),
    wire: inputs.counters,
    sockopts: (connected?.type === 'connected' ? connected.sockopts : undefined) ?? {},
    fault_apply_ms: applyMs,
    allowance_ms: prediction.window
      ? (allowanceMs(prediction.window, slack).map(tenths) as [number, number])
      : null,
    flow: flow
      ? {
          client: `${flow.client.address}:${flow.client.port}`,
          server: `${flow.server.address}:${flow.server.port}`,
        }
      : null,
    fault_params: spec.params ?? {},
    kube: kubeOutcome(spec, entries, t0),
    events: libraryEvents(entries, t0),
  };
}

/**
 * Did messages still cross the path after the fault had had time to act, before the client noticed
 * anything? Then the fault was not in force (a CNI that judges only new connections leaves an open
 * one alone under a deny-all NetworkPolicy), and no detection time means anything. Checked where
 * the fault's way on the testbed says how long it may take to act (a real cluster's).
 */
export function notInForce(
  spec: ExperimentSpec,
  entries: readonly TimelineEntry[],
  applied: bigint | undefined,
  detectMs: number | null,
  t0: bigint,
): boolean {
  const afterMs =
    spec.testbed === 'k8s' ? FAULT_DEFS[spec.fault].testbeds.k8s?.inForceAfterMs : null;
  if (afterMs === null || afterMs === undefined || applied === undefined) return false;
  const from = applied + BigInt(Math.round(afterMs * 1e6));
  const until = detectMs === null ? null : t0 + BigInt(Math.round(detectMs * 1e6));
  return entries.some(
    (e) =>
      e.type === 'recv' &&
      (e.src === 'sink' || e.src === 'client' || e.src === 'target') &&
      e.t > from &&
      (until === null || e.t < until),
  );
}

/** The cluster's side of a kube experiment: where the client was, and what Kubernetes did. */
function kubeOutcome(
  spec: ExperimentSpec,
  entries: readonly TimelineEntry[],
  t0: bigint,
): ExperimentResult['kube'] {
  if (!spec.kube) return null;
  const events: NonNullable<ExperimentResult['kube']>['events'] = [];
  const onPod: { name: string | null; ip: string | null }[] = [];
  for (const e of entries)
    if (e.src === 'lab' && e.type === 'k8s') {
      events.push({
        at_ms: tenths(msBetween(t0, e.t)),
        object: e.object,
        name: e.name,
        change: e.change,
      });
      if (e.object === 'conntrack' && e.ip !== undefined)
        onPod.push(e.ip === '' ? { name: null, ip: null } : { name: e.name, ip: e.ip });
    }
  return {
    replicas: spec.kube.replicas,
    service: spec.kube.service,
    time_scale: spec.kube.timeScale,
    advertise: spec.kube.advertise,
    pod_at_fault: onPod[0]?.name ?? null,
    pod_at_stop: onPod.length > 1 ? onPod[onPod.length - 1]!.name : null,
    ip_at_fault: onPod[0]?.ip ?? null,
    ip_at_stop: onPod.length > 1 ? onPod[onPod.length - 1]!.ip : null,
    events,
  };
}

/** The client library's status events, relative to T0. */
function libraryEvents(entries: readonly TimelineEntry[], t0: bigint): ExperimentResult['events'] {
  const out: ExperimentResult['events'] = [];
  for (const e of entries) {
    if (e.src === 'client' && e.type === 'status')
      out.push({
        at_ms: tenths(msBetween(t0, e.t)),
        name: e.name,
        ...(e.detail !== undefined ? { detail: e.detail } : {}),
      });
  }
  return out;
}
