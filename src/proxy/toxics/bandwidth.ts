import { wait, type Toxic } from './types.js';

/** bandwidth: at most `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy counts); 0 is unlimited. */
export const bandwidth: Toxic = {
  defaults: { rate: 0 },
  async pipe(chunk, { config, stop }) {
    const rate = (config.attributes.rate ?? 0) * 1000;
    if (rate <= 0) return [chunk];
    await wait((chunk.length / rate) * 1000, stop);
    return [chunk];
  },
};
