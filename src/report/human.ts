/**
 * One experiment's result as a person reads it: what crossed the wire, detection beside the
 * predicted window, loss and reconnect.
 */
import type { ExperimentResult } from '../runner/experiment.js';
import { formatMs } from '../util/duration.js';

type Result = Omit<ExperimentResult, 'timeline'>;

const n = (wire: Record<string, number>, key: string): number => wire[key] ?? 0;

export function describeWire(r: Result): string {
  const w = r.wire;
  const reason = r.detect_reason
    ? `; the client saw ${r.detect_reason}`
    : '; the client saw nothing';
  if (r.testbed === 'proxy') {
    const what: Record<string, string> = {
      graceful: 'SIGTERM to the target; its FIN crossed the fault proxy',
      kill: "SIGKILL to the target; its kernel's FIN crossed the fault proxy",
      partition: 'the fault proxy blackholed the connection both ways (both sides stayed open)',
      reset: 'the fault proxy reset the connection (RST to both sides)',
      latency: `the fault proxy delayed every chunk by ${r.latency?.ms ?? 0} ms (+- ${r.latency?.jitter_ms ?? 0} ms) each way`,
      'proxy-dead-upstream':
        "the fault proxy's upstream went silent both ways; the client's side stayed healthy",
      'idle-timeout': `the fault proxy forgot connections idle for ${formatMs(r.idle_timeout?.ms ?? 0)} and ${r.idle_timeout?.on_expiry === 'reset' ? 'reset the sender of whatever came next' : 'dropped whatever came next'}`,
    };
    return `${what[r.fault] ?? r.fault}${reason}`;
  }
  switch (r.fault) {
    case 'graceful':
      return `SIGTERM to the target, which closed its connections with FIN${reason}`;
    case 'kill':
      return `SIGKILL to the target; its kernel closed the connection${reason}`;
    case 'partition':
      return `router dropped ${n(w, 'partition:0')} packets client->server and ${n(w, 'partition:1')} server->client${reason}`;
    case 'node-loss':
      return `router dropped ${n(w, 'node-loss:0')} packets to the server and ${n(w, 'node-loss:1')} from it; the target was killed behind the drop${reason}`;
    case 'reset':
      return `router answered ${n(w, 'reset:0')} client packets and ${n(w, 'reset:1')} server packets with RST${reason}`;
    case 'ip-reuse':
      return `router dropped ${n(w, 'node-loss:0')} packets to the lost host; a fresh host took its address${reason}`;
    case 'idle-timeout': {
      const t = r.idle_timeout;
      const answered = n(w, 'idle-timeout:0');
      const idle = t ? formatMs(t.ms) : '?';
      return t?.on_expiry === 'reset'
        ? `the router forgot flows idle for ${idle} and answered ${answered} of their packets with RST${reason}`
        : `the router forgot flows idle for ${idle} and dropped ${answered} of their packets${reason}`;
    }
    case 'proxy-dead-upstream':
      return `the proxy in the router stayed healthy; the router dropped ${n(w, 'proxy-dead-upstream:0')} of its packets to the server and ${n(w, 'proxy-dead-upstream:1')} from it; the target was killed behind the drop${reason}`;
    default:
      return `fault ${r.fault}${reason}`;
  }
}

export function formatWindow(w: readonly [number, number] | null): string {
  return w ? `${formatMs(w[0])} - ${formatMs(w[1])}` : 'never';
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
  const oneFlow = r.fault === 'reset' || (r.fault === 'idle-timeout' && r.detect_ms !== null);
  if (r.heal_ms !== null || r.restart_ms !== null || oneFlow) {
    const from = oneFlow ? 'detection' : r.heal_ms !== null ? 'heal' : 'restart';
    lines.push(
      `  reconnect    ${r.reconnect_ms === null ? `nothing delivered after the ${from}` : `${formatMs(r.reconnect_ms)} from ${from} to the first delivery`}`,
    );
  }
  if (r.fault === 'latency' && r.detect_ms !== null)
    lines.push(
      '  false        a disconnect while the path was only slow: the timeout is too tight',
    );
  if (r.false_disconnects)
    lines.push(`  warning      ${r.false_disconnects} disconnects before the fault`);
  if (timelinePath) lines.push(`  timeline     ${timelinePath}`);
  return lines.join('\n');
}
