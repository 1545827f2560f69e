/**
 * Kernel options on a node:net socket. Node sets SO_KEEPALIVE and TCP_KEEPIDLE itself;
 * TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT need net-keepalive (an optional peer
 * dependency), loaded only when this is called.
 */
import type { Socket } from 'node:net';
import { LabUnavailableError } from '../errors.js';
import type { SocketOptions } from './options.js';

interface NetKeepAlive {
  setKeepAliveInterval(s: Socket, ms: number): boolean;
  setKeepAliveProbes(s: Socket, n: number): boolean;
  setUserTimeout(s: Socket, ms: number): boolean;
}

async function netKeepAlive(): Promise<NetKeepAlive> {
  try {
    const name = 'net-keepalive';
    const mod = (await import(name)) as { default: NetKeepAlive };
    return mod.default;
  } catch (err) {
    throw new LabUnavailableError(
      `applySocketOptions needs the package net-keepalive for TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT (npm install net-keepalive): ${(err as Error).message}`,
    );
  }
}

/** Sets what `socketOptions` chose on a connected (or connecting) socket. */
export async function applySocketOptions(
  socket: Socket,
  opts: Partial<SocketOptions>,
): Promise<void> {
  const nka = await netKeepAlive();
  if (opts.keepalive) {
    socket.setKeepAlive(true, opts.keepalive.idleMs);
    nka.setKeepAliveInterval(socket, opts.keepalive.intervalMs);
    nka.setKeepAliveProbes(socket, opts.keepalive.count);
  }
  if (opts.userTimeoutMs !== undefined) nka.setUserTimeout(socket, opts.userTimeoutMs);
}
