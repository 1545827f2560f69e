import type { Toxic } from './types.js';

/**
 * reset_peer: after `timeout` ms (0: at once) both sides of the connection get a TCP RST. Applies
 * to connections that are already open as well as new ones.
 */
export const resetPeer: Toxic = {
  defaults: { timeout: 0 },
  start({ stub, config, stop }) {
    const timer = setTimeout(() => stub.reset(), config.attributes.timeout ?? 0);
    stop.addEventListener('abort', () => clearTimeout(timer), { once: true });
  },
};
