/**
 * Kernel-level strategies on a socket: SO_KEEPALIVE with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, and
 * TCP_USER_TIMEOUT, as the strategy's definition lists them. Node sets SO_KEEPALIVE and
 * TCP_KEEPIDLE itself; net-keepalive sets the rest through FFI.
 */
import type { Socket } from 'node:net';
import NetKeepAlive from 'net-keepalive';
import { socketOptions, type Strategy } from '../../strategies/index.js';

export function applyStrategy(sock: Socket, strategy: Strategy): void {
  const { keepalive, userTimeoutMs } = socketOptions(strategy);
  if (keepalive) {
    sock.setKeepAlive(true, keepalive.idleMs);
    NetKeepAlive.setKeepAliveInterval(sock, keepalive.intervalMs);
    NetKeepAlive.setKeepAliveProbes(sock, keepalive.count);
  }
  if (userTimeoutMs !== undefined) NetKeepAlive.setUserTimeout(sock, userTimeoutMs);
}

/** Reads back what the kernel holds, so the timeline shows the options really in force. */
export function readSockopts(sock: Socket, strategy: Strategy): Record<string, number> {
  const { keepalive, userTimeoutMs } = socketOptions(strategy);
  return {
    ...(keepalive
      ? {
          tcp_keepintvl_ms: NetKeepAlive.getKeepAliveInterval(sock),
          tcp_keepcnt: NetKeepAlive.getKeepAliveProbes(sock),
        }
      : {}),
    ...(userTimeoutMs !== undefined
      ? { tcp_user_timeout_ms: NetKeepAlive.getUserTimeout(sock) }
      : {}),
  };
}
