/**
 * TCP's own timers from a program: node:net (SO_KEEPALIVE and TCP_KEEPIDLE through
 * `setKeepAlive`; the probe interval and count and TCP_USER_TIMEOUT through net-keepalive, as
 * Node has no API for them) and Go's net.Dialer (the options set in its Control func with
 * golang.org/x/sys/unix, which any Go since 1.11 compiles; Go 1.23's net.KeepAliveConfig says the
 * keepalive part too). Linux TCP in docs/facts.md.
 */
import { formatMs } from '../util/duration.js';
import type { Window } from '../core/window.js';
import { socketOptions, type Strategy } from '../strategies/index.js';
import { keepalive } from '../strategies/keepalive.js';
import { userTimeout } from '../strategies/user-timeout.js';
import type { Emitter } from './types.js';

const KINDS = [keepalive.kind, userTimeout.kind];

function noticed(w: Window | null, s: Strategy): string {
  const when = w ? `${formatMs(w[0])} - ${formatMs(w[1])} after it goes silent` : 'never';
  const { keepalive: k } = socketOptions(s);
  return k
    ? `an idle connection to a silent peer fails ${when} (keepalive probes only an idle socket: with data in flight the retransmission timeout applies, so set TCP_USER_TIMEOUT too)`
    : `a connection with data in flight to a silent peer fails ${when} (an idle one never: TCP_USER_TIMEOUT counts unacknowledged data)`;
}

/** The options as [what, Go's unix level, its option, its value] for the Control func. */
function goOptions(s: Strategy): [string, string, string, number][] {
  const { keepalive: k, userTimeoutMs } = socketOptions(s);
  return [
    ...(k
      ? ([
          ['SO_KEEPALIVE on', 'unix.SOL_SOCKET', 'unix.SO_KEEPALIVE', 1],
          ['idle, s', 'unix.IPPROTO_TCP', 'unix.TCP_KEEPIDLE', k.idleMs / 1000],
          ['interval, s', 'unix.IPPROTO_TCP', 'unix.TCP_KEEPINTVL', k.intervalMs / 1000],
          ['count', 'unix.IPPROTO_TCP', 'unix.TCP_KEEPCNT', k.count],
        ] as [string, string, string, number][])
      : []),
    ...(userTimeoutMs !== undefined
      ? ([['ms', 'unix.IPPROTO_TCP', 'unix.TCP_USER_TIMEOUT', userTimeoutMs]] as [
          string,
          string,
          string,
          number,
        ][])
      : []),
  ];
}

export const GO_NET: Emitter = {
  library: 'go-net',
  language: 'go',
  kinds: KINDS,
  source:
    'Go net.Dialer (pkg.go.dev/net#Dialer: Control, KeepAlive) and golang.org/x/sys/unix SetsockoptInt; tcp(7) for the options',
  emit: (s, w) =>
    [
      `// ${noticed(w, s)}.`,
      `// dialer.Dial("tcp", addr); needs "net", "syscall" and "golang.org/x/sys/unix".`,
      `dialer := net.Dialer{`,
      `\tKeepAlive: -1, // Go's own keepalive (15 s) would overwrite the options below`,
      `\tControl: func(network, address string, c syscall.RawConn) error {`,
      `\t\tvar serr error`,
      `\t\terr := c.Control(func(fd uintptr) {`,
      ...goOptions(s).flatMap(([what, level, opt, value]) => [
        `\t\t\tif serr == nil {`,
        `\t\t\t\tserr = unix.SetsockoptInt(int(fd), ${level}, ${opt}, ${value}) // ${what}`,
        `\t\t\t}`,
      ]),
      `\t\t})`,
      `\t\tif err != nil {`,
      `\t\t\treturn err`,
      `\t\t}`,
      `\t\treturn serr`,
      `\t},`,
      `}`,
    ].join('\n'),
};

export const NODE_NET: Emitter = {
  library: 'node:net',
  language: 'javascript',
  kinds: KINDS,
  source:
    "node:net socket.setKeepAlive (nodejs.org/api/net.html); net-keepalive (npm) for TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT, which Node's API does not set",
  emit: (s, w) => {
    const { keepalive: k, userTimeoutMs } = socketOptions(s);
    return [
      `// ${noticed(w, s)}.`,
      `// import NetKeepAlive from 'net-keepalive'; call once the socket is connected.`,
      `socket.on('connect', () => {`,
      ...(k
        ? [
            `  socket.setKeepAlive(true, ${k.idleMs}); // SO_KEEPALIVE, TCP_KEEPIDLE (ms, whole seconds)`,
            `  NetKeepAlive.setKeepAliveInterval(socket, ${k.intervalMs}); // TCP_KEEPINTVL`,
            `  NetKeepAlive.setKeepAliveProbes(socket, ${k.count}); // TCP_KEEPCNT`,
          ]
        : []),
      ...(userTimeoutMs !== undefined
        ? [`  NetKeepAlive.setUserTimeout(socket, ${userTimeoutMs}); // TCP_USER_TIMEOUT, ms`]
        : []),
      `});`,
    ].join('\n');
  },
};
