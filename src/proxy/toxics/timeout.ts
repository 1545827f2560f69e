import { until, type Toxic } from './types.js';

/**
 * timeout: nothing gets through (data is dropped, as Toxiproxy does); after `timeout` ms the
 * connection is closed (FIN both ways). With timeout 0 it stays open until the toxic is removed.
 */
export const timeout: Toxic = {
  defaults: { timeout: 0 },
  start({ stub, config, stop }) {
    const ms = config.attributes.timeout ?? 0;
    if (ms <= 0) return;
    const timer = setTimeout(() => stub.close(), ms);
    stop.addEventListener('abort', () => clearTimeout(timer), { once: true });
  },
  holds: true,
  pipe() {
    return [];
  },
  async beforeEnd({ stop }) {
    await until(stop);
  },
};
