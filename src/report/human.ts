/**
 * One experiment's result as a person reads it: what crossed the wire, detection beside the
 * predicted window, loss and reconnect.
 */
import type { ExperimentResult } from '../runner/experiment.js';
import { FAULT_DEFS, type FaultDef, type FaultName } from '../faults/index.js';
import { OWN_SERVER, type TestbedName } from '../faults/spec.js';
import { formatMs } from '../util/duration.js';

type Result = Omit<ExperimentResult, 'timeline'>;

/** A result's fault, by the name it carries (results are read back from files too). */
const faultNamed = (name: string): FaultDef | undefined =>
  Object.hasOwn(FAULT_DEFS, name) ? FAULT_DEFS[name as FaultName] : undefined;

export function describeWire(r: Result): string {
  const reason = r.detect_reason
    ? `; the client saw ${r.detect_reason}`
    : '; the client saw nothing';
  const def = faultNamed(r.fault);
  const impl = def?.testbeds[r.testbed as TestbedName];
  return `${impl ? impl.describe(r) : `fault ${r.fault}`}${reason}`;
}

export function formatWindow(w: readonly [number, number] | null): string {
  return w ? `${formatMs(w[0])} - ${formatMs(w[1])}` : 'never';
}

/** The cluster, where the client was, and what Kubernetes did (at most a dozen events). */
function kubeLines(k: NonNullable<Result['kube']>): string[] {
  const at = (name: string | null, ip: string | null): string =>
    name === null ? 'no pod' : `${name} (${ip})`;
  const fault = at(k.pod_at_fault, k.ip_at_fault);
  const stop = at(k.pod_at_stop, k.ip_at_stop);
  const where =
    stop === fault
      ? `the client was on ${fault} at the fault and at the stop`
      : `the client was on ${fault} at the fault, on ${stop}${k.pod_at_stop !== null && k.pod_at_stop === k.pod_at_fault ? ', its replacement,' : ''} at the stop`;
  const lines = [
    `  cluster      ${k.replicas} replica${k.replicas > 1 ? 's' : ''} behind a ${k.service === 'headless' ? 'headless Service (pod names)' : 'ClusterIP Service'}, Kubernetes delays x${k.time_scale}; ${where}`,
  ];
  const shown = k.events.filter((e) => e.object !== 'conntrack').slice(0, 12);
  shown.forEach((e, i) =>
    lines.push(
      `  ${i === 0 ? 'kubernetes ' : '           '}  ${`${e.at_ms >= 0 ? '+' : ''}${formatMs(e.at_ms)}`.padStart(8)}  ${e.object} ${e.name}: ${e.change}`,
    ),
  );
  return lines;
}

export function renderResult(r: Result, timelinePath: string | null): string {
  const lines: string[] = [];
  const qos = r.qos === null ? '' : ` QoS ${r.qos},`;
  const back =
    r.heal_ms !== null
      ? `, healed at ${formatMs(r.heal_ms)}`
      : r.restart_ms !== null
        ? `, restarted at ${formatMs(r.restart_ms)}`
        : r.idle_timeout !== null
          ? ` after ${formatMs(r.idle_timeout.ms)} idle, then ${r.idle_timeout.on_expiry}`
          : '';
  lines.push(
    `halfopen run: ${r.client.startsWith('your command') ? `your client (target ${r.target})` : `${r.target} client`}, strategy ${r.strategy}, workload ${r.workload},${qos} fault ${r.fault}${back} (${r.testbed})`,
  );
  lines.push(`  software     ${r.client} against ${r.target_version}`);
  lines.push(`  on the wire  ${describeWire(r)}`);
  const detected =
    r.detect_ms === null
      ? `not detected within ${formatMs(r.deadline_ms)}`
      : `${formatMs(r.detect_ms)} after the fault`;
  lines.push(
    r.verdict === 'measured (no prediction)'
      ? `  detection    ${detected}; not predicted`
      : `  detection    ${detected}; predicted ${formatWindow(r.predicted_ms)}: ${r.verdict}`,
  );
  lines.push(`               (${r.predicted_why})`);
  if (r.allowance_ms && r.detect_ms !== null) {
    const [below, above] = r.allowance_ms.map((ms) => `${Math.round(ms)} ms`);
    lines.push(
      `               allowed ${below} below, ${above} above: 25 ms + 1 %, the lab's timers up to ${r.timer_lateness_ms ?? 0} ms late, the fault in force within ${r.fault_apply_ms ?? 0} ms (above)`,
    );
  }
  if (r.predicted_ms && r.detect_ms === null && r.predicted_ms[0] > r.deadline_ms) {
    lines.push(
      `               the prediction is beyond the deadline: try --deadline ${Math.ceil((r.predicted_ms[1] * 1.1) / 1000)}s`,
    );
  }
  const dup = r.duplicates ? `, ${r.duplicates} duplicates` : '';
  if (r.lost_from === 'gaps')
    lines.push(
      `  messages     ${r.received} delivered, ${r.lost} lost below the highest delivered (your program printed no "sent <seq>": what it sent after the last delivery is not seen)${dup}`,
    );
  else
    lines.push(
      `  messages     ${r.sent} accepted${r.workload.startsWith('subscribe') ? ' (published by the far side)' : ''}, ${r.lost} lost, ${r.stale_sent} accepted after the fault before detection${dup}`,
    );
  if (r.target_version.startsWith(OWN_SERVER) && r.received === 0 && (r.sent ?? 0) > 0)
    lines.push(
      '               your server printed no "recv <seq>": every message counts as lost (see --server-cmd in run --help)',
    );
  const def = faultNamed(r.fault);
  const impl = def?.testbeds[r.testbed as TestbedName];
  const basis =
    impl && 'reconnectFrom' in impl && impl.reconnectFrom !== undefined
      ? impl.reconnectFrom
      : def?.reconnectFrom;
  const oneFlow = basis === 'detection' && r.detect_ms !== null;
  if (r.heal_ms !== null || r.restart_ms !== null || oneFlow) {
    const from = oneFlow ? 'detection' : r.heal_ms !== null ? 'heal' : 'restart';
    lines.push(
      `  reconnect    ${r.reconnect_ms === null ? `nothing delivered after the ${from}` : `${formatMs(r.reconnect_ms)} from ${from} to the first delivery`}`,
    );
  }
  if (def?.peerAlive && r.detect_ms !== null)
    lines.push(
      '  false        a disconnect while the path was only slow: the timeout is too tight',
    );
  if (r.false_disconnects)
    lines.push(`  warning      ${r.false_disconnects} disconnects before the fault`);
  if (r.kube) lines.push(...kubeLines(r.kube));
  if (timelinePath) lines.push(`  timeline     ${timelinePath}`);
  return lines.join('\n');
}
