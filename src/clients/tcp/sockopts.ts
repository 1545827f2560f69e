/**
 * Kernel-level strategies: SO_KEEPALIVE with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, and TCP_USER_TIMEOUT.
 * Node sets SO_KEEPALIVE and TCP_KEEPIDLE itself; net-keepalive sets the rest through FFI.
 */
import type { Socket } from 'node:net';
import NetKeepAlive from 'net-keepalive';
import type { Strategy } from '../../scenario/spec.js';

export function applyStrategy(sock: Socket, strategy: Strategy): void {
  switch (strategy.kind) {
    case 'keepalive':
      sock.setKeepAlive(true, strategy.idleMs);
      NetKeepAlive.setKeepAliveInterval(sock, strategy.intervalMs);
      NetKeepAlive.setKeepAliveProbes(sock, strategy.count);
      return;
    case 'user-timeout':
      NetKeepAlive.setUserTimeout(sock, strategy.timeoutMs);
      return;
    case 'none':
    default:
      return;
  }
}

/** Reads back what the kernel holds, so the timeline shows the options really in force. */
export function readSockopts(sock: Socket, strategy: Strategy): Record<string, number> {
  switch (strategy.kind) {
    case 'keepalive':
      return {
        tcp_keepintvl_ms: NetKeepAlive.getKeepAliveInterval(sock),
        tcp_keepcnt: NetKeepAlive.getKeepAliveProbes(sock),
      };
    case 'user-timeout':
      return { tcp_user_timeout_ms: NetKeepAlive.getUserTimeout(sock) };
    default:
      return {};
  }
}
