import { until, type Toxic } from './types.js';

/**
 * blackhole (halfopen's own): both sides stay open, nothing is forwarded, nothing is closed. What
 * arrives waits (the proxy stops reading once it holds 1 MiB, so the sender's kernel buffers
 * fill as they would behind a dead path) and flows on when the toxic is removed, or after `heal`
 * ms when that is set. Toxiproxy has no such toxic (toxiproxy #149, #199, #209, #479).
 */
export const blackhole: Toxic = {
  defaults: { heal: 0 },
  holds: true,
  async pipe(chunk, { stop }) {
    await until(stop);
    return [chunk];
  },
  // Not even a FIN crosses a dead path.
  async beforeEnd({ stop }) {
    await until(stop);
  },
};
