/**
 * Graceful shutdown for servers: on SIGTERM stop accepting and say goodbye in each protocol's own
 * words (a WebSocket close frame 1001, an HTTP/2 GOAWAY, grpc-js tryShutdown, a FIN on raw TCP),
 * so that clients see a close at once instead of a silence; force what remains at the grace
 * deadline; then resolve and let the process exit. Servers are told apart by shape, so none of
 * ws or grpc-js is loaded here. Call it at startup: raw TCP sockets and HTTP/2 sessions are
 * tracked from then on.
 */
import http from 'node:http';
import net from 'node:net';
import type { Http2Session } from 'node:http2';
import { BadInputError } from '../errors.js';
import { toMs, type Duration } from './target.js';

/** A ws WebSocketServer (its clients get a close frame 1001, going away). */
export interface WsServerLike {
  clients: Set<{
    close(code: number, reason: string): void;
    terminate(): void;
    readyState: number;
    once(ev: 'close', fn: () => void): unknown;
  }>;
  close(cb?: (err?: Error) => void): void;
  handleUpgrade: unknown;
}

/** A grpc-js Server (tryShutdown sends GOAWAY and waits for calls to end). */
export interface GrpcServerLike {
  tryShutdown(cb: (err?: Error) => void): void;
  forceShutdown(): void;
}

export type ShutdownServer = net.Server | WsServerLike | GrpcServerLike;

export interface ShutdownOptions {
  servers: ShutdownServer[];
  /** How long clients get to close before what remains is destroyed; shorter than the pod's. */
  grace?: Duration;
  /** Default ['SIGTERM']. */
  signals?: NodeJS.Signals[];
  /** Called once everything is closed (flush, close a database), before the promise resolves. */
  onClose?: (result: ShutdownResult) => void | Promise<void>;
}

export interface ShutdownResult {
  /** ms from the signal to the last close. */
  ms: number;
  /** Connections (or servers) destroyed at the grace deadline because they had not closed. */
  forced: number;
}

export interface Shutdown {
  /** Resolves once a signal came and every server closed (or was forced). */
  readonly done: Promise<ShutdownResult>;
  /** Starts the shutdown now, as a signal would. */
  shutdown(): Promise<ShutdownResult>;
}

interface Closer {
  /** Says goodbye; resolves when every connection has gone. */
  close(): Promise<void>;
  /** At the grace deadline: destroys what remains, returns how many. */
  force(): number;
}

const isGrpc = (s: ShutdownServer): s is GrpcServerLike => 'tryShutdown' in s;
const isWs = (s: ShutdownServer): s is WsServerLike => 'handleUpgrade' in s && 'clients' in s;

function wsCloser(wss: WsServerLike): Closer {
  return {
    close: () =>
      new Promise((resolve) => {
        const open = [...wss.clients].filter((c) => c.readyState < 3);
        let left = open.length;
        if (left === 0) resolve();
        for (const c of open) {
          c.once('close', () => --left === 0 && resolve());
          c.close(1001, 'server going away');
        }
        wss.close();
      }),
    force: () => {
      const left = [...wss.clients].filter((c) => c.readyState < 3);
      for (const c of left) c.terminate();
      return left.length;
    },
  };
}

function grpcCloser(server: GrpcServerLike): Closer {
  let closed = false;
  return {
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve(void (closed = true)))),
    force: () => (closed ? 0 : (server.forceShutdown(), 1)),
  };
}

/** net.Server, http.Server, http2 servers: tracked from now on. */
function netCloser(server: net.Server): Closer {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<Http2Session>();
  const h2 = /^Http2(Secure)?Server$/.test(server.constructor.name);
  const web = server instanceof http.Server;
  if (h2)
    server.on('session', (s: Http2Session) => {
      sessions.add(s);
      s.once('close', () => sessions.delete(s));
    });
  else if (!web)
    server.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
  return {
    close: () =>
      new Promise((resolve) => {
        // Calls back once every connection is gone (upgraded ones included).
        server.close(() => resolve());
        for (const s of sessions) s.close(); // GOAWAY, then close once its streams end
        for (const s of sockets) s.end(); // FIN
        if (web) (server as http.Server).closeIdleConnections();
      }),
    force: () => {
      const n = sessions.size + sockets.size;
      for (const s of sessions) s.destroy();
      // Our FIN is out already, so libuv cannot reset (uv_tcp_close_reset refuses after a
      // shutdown): a peer that ignored the FIN learns when it writes.
      for (const s of sockets) s.destroy();
      if (web) (server as http.Server).closeAllConnections();
      return n;
    },
  };
}

export function gracefulShutdown(opts: ShutdownOptions): Shutdown {
  const grace = toMs(opts.grace ?? 10_000, 'grace');
  if (opts.servers.length === 0) throw new BadInputError('gracefulShutdown: no servers given');
  const closers = opts.servers.map((s) =>
    isGrpc(s) ? grpcCloser(s) : isWs(s) ? wsCloser(s) : netCloser(s),
  );
  const signals = opts.signals ?? ['SIGTERM'];
  let started: Promise<ShutdownResult> | null = null;
  let settle: (r: ShutdownResult) => void = () => undefined;
  const done = new Promise<ShutdownResult>((resolve) => (settle = resolve));

  const shutdown = (): Promise<ShutdownResult> => {
    if (started) return started;
    for (const sig of signals) process.off(sig, onSignal);
    const t0 = performance.now();
    started = (async () => {
      let forced = 0;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const c of closers) forced += c.force();
          resolve();
        }, grace);
      });
      await Promise.race([Promise.all(closers.map((c) => c.close())), deadline]);
      clearTimeout(timer);
      const result = { ms: Math.round(performance.now() - t0), forced };
      await opts.onClose?.(result);
      settle(result);
      return result;
    })();
    return started;
  };
  const onSignal = (): void => void shutdown();
  for (const sig of signals) process.on(sig, onSignal);
  return { done, shutdown };
}

export interface KubernetesSettings {
  terminationGracePeriodSeconds: number;
  lifecycle: { preStop: { exec: { command: string[] } } };
  /** The same as a pod spec's YAML fragment (container lifecycle and pod-level grace). */
  yaml: string;
  why: string;
}

/**
 * The pod settings that go with an app grace of `grace`: a preStop sleep of `preStopSleep`
 * (default 5s) so the endpoints controller and every node's proxy stop sending new connections
 * before SIGTERM, and terminationGracePeriodSeconds above preStop + grace (+1 s margin), since
 * the kubelet's SIGKILL comes that long after the pod's deletion, preStop included.
 */
export function kubernetesSettings(o: {
  grace: Duration;
  preStopSleep?: Duration;
}): KubernetesSettings {
  const grace = toMs(o.grace, 'grace');
  const pre = Math.ceil(toMs(o.preStopSleep ?? 5000, 'preStopSleep') / 1000);
  const total = pre + Math.ceil(grace / 1000) + 1;
  const command = ['sleep', String(pre)];
  return {
    terminationGracePeriodSeconds: total,
    lifecycle: { preStop: { exec: { command } } },
    yaml: [
      `terminationGracePeriodSeconds: ${total}  # pod spec`,
      'containers:',
      '  - name: app',
      '    lifecycle:',
      '      preStop:',
      `        exec: { command: [${command.map((c) => JSON.stringify(c)).join(', ')}] }`,
    ].join('\n'),
    why: `terminationGracePeriodSeconds must exceed preStop + the app's grace: ${pre}s preStop (endpoints removal lag) + ${grace / 1000}s grace + 1s margin = ${total}s before SIGKILL`,
  };
}
