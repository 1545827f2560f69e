import { wait, type Toxic } from './types.js';

/**
 * latency: every chunk leaves `latency` ms (+- `jitter`) after it arrived, in order. Counted from
 * arrival, so a stream of chunks is delayed, not slowed down.
 */
export const latency: Toxic = {
  defaults: { latency: 0, jitter: 0 },
  async pipe(chunk, { config, stop, arrivedAt }) {
    const { latency: ms = 0, jitter = 0 } = config.attributes;
    const delay = ms + (jitter ? (Math.random() * 2 - 1) * jitter : 0);
    await wait(arrivedAt + delay - performance.now(), stop);
    return [chunk];
  },
};
