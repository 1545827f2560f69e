/**
 * The four NATS client libraries: nats.js, nats.go, jnats and nats.py. Each writes the `nats`
 * strategy's four settings in its own API, with a comment naming the window and the library's
 * rule (NATS in docs/facts.md; the rules themselves: src/strategies/nats-libs.ts).
 */
import { formatMs } from '../util/duration.js';
import type { Window } from '../core/window.js';
import type { Strategy } from '../strategies/index.js';
import { NATS_RULES, type NatsLib } from '../strategies/nats-libs.js';
import { nats } from '../strategies/nats.js';
import type { Emitter, Language } from './types.js';

type Nats = Extract<Strategy, { kind: 'nats' }>;

/** What every snippet says first: the window, and whose rule gives it. */
function windowLine(lib: NatsLib, s: Nats, w: Window | null): string {
  const when = w ? `${formatMs(w[0])} - ${formatMs(w[1])}` : 'never';
  return `a silent server is noticed ${when} after it goes silent (${NATS_RULES[lib].name}: stale on the ping tick that finds ${s.maxOut} unanswered)`;
}

function natsEmitter(
  library: string,
  language: Language,
  lib: NatsLib,
  source: string,
  write: (s: Nats, comment: string) => string,
): Emitter {
  return {
    library,
    language,
    kinds: [nats.kind],
    source,
    // nats.js is the lab's own client, whose rule is the default.
    ...(lib === 'js' ? {} : { lib }),
    emit: (s, w) => {
      if (s.kind !== nats.kind) throw new Error(`${library} writes nats settings, not ${s.kind}`);
      return write(s, windowLine(lib, s, w));
    },
  };
}

/** A Go duration: `5 * time.Second`, `3300 * time.Millisecond`. */
const goDuration = (ms: number): string =>
  ms % 1000 === 0 ? `${ms / 1000} * time.Second` : `${ms} * time.Millisecond`;

/** A Java Duration. */
const javaDuration = (ms: number): string =>
  ms % 1000 === 0 ? `Duration.ofSeconds(${ms / 1000})` : `Duration.ofMillis(${ms})`;

/** Seconds as Python writes them (nats.py takes seconds, as numbers). */
const pySeconds = (ms: number): string => String(ms / 1000);

export const NATS_GO = natsEmitter(
  'nats.go',
  'go',
  'go',
  'nats.go options (pkg.go.dev/github.com/nats-io/nats.go: PingInterval, MaxPingsOutstanding, ReconnectWait, MaxReconnects); rule: processPingTimer in nats.go',
  (s, comment) =>
    [
      `// ${comment}.`,
      `// Pass them to nats.Connect(url, opts...); a negative MaxReconnects reconnects forever.`,
      `opts := []nats.Option{`,
      `\tnats.PingInterval(${goDuration(s.pingMs)}),`,
      `\tnats.MaxPingsOutstanding(${s.maxOut}),`,
      `\tnats.ReconnectWait(${goDuration(s.waitMs)}),`,
      `\tnats.MaxReconnects(${s.attempts}),`,
      `}`,
    ].join('\n'),
);

export const NATS_JS = natsEmitter(
  'nats.js',
  'javascript',
  'js',
  'nats.js ConnectionOptions (github.com/nats-io/nats.js, core/src/options.ts: pingInterval, maxPingOut, reconnectTimeWait, maxReconnectAttempts); rule: Heartbeat in core/src/heartbeats.ts',
  (s, comment) =>
    [
      `// ${comment}.`,
      `// Spread into connect({ servers, ...opts }); maxReconnectAttempts -1 reconnects forever.`,
      `const opts = {`,
      `  pingInterval: ${s.pingMs}, // ms`,
      `  maxPingOut: ${s.maxOut},`,
      `  reconnectTimeWait: ${s.waitMs}, // ms`,
      `  maxReconnectAttempts: ${s.attempts},`,
      `};`,
    ].join('\n'),
);

export const JNATS = natsEmitter(
  'jnats',
  'java',
  'java',
  'jnats Options.Builder (github.com/nats-io/nats.java, Options.java: pingInterval, maxPingsOut, reconnectWait, maxReconnects); rule: sendPing in NatsConnection.java',
  (s, comment) =>
    [
      `// ${comment}.`,
      `// Nats.connect(options); maxReconnects -1 reconnects forever. Needs java.time.Duration.`,
      `Options options = new Options.Builder()`,
      `    .server(url)`,
      `    .pingInterval(${javaDuration(s.pingMs)})`,
      `    .maxPingsOut(${s.maxOut})`,
      `    .reconnectWait(${javaDuration(s.waitMs)})`,
      `    .maxReconnects(${s.attempts})`,
      `    .build();`,
    ].join('\n'),
);

export const NATS_PY = natsEmitter(
  'nats.py',
  'python',
  'py',
  'nats.py Client.connect (github.com/nats-io/nats.py, nats/aio/client.py: ping_interval, max_outstanding_pings, reconnect_time_wait, max_reconnect_attempts; seconds); rule: _ping_interval there',
  (s, comment) =>
    [
      `# ${comment}.`,
      `# nc = await nats.connect(url, **options); max_reconnect_attempts -1 reconnects forever.`,
      `options = dict(`,
      `    ping_interval=${pySeconds(s.pingMs)},  # seconds`,
      `    max_outstanding_pings=${s.maxOut},`,
      `    reconnect_time_wait=${pySeconds(s.waitMs)},  # seconds`,
      `    max_reconnect_attempts=${s.attempts},`,
      `)`,
    ].join('\n'),
);
