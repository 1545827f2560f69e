import { wait, type Toxic } from './types.js';

/**
 * slicer: cuts each chunk into pieces of `average_size` (+- `size_variation`) bytes and passes
 * them on `delay` microseconds apart.
 */
export const slicer: Toxic = {
  defaults: { average_size: 0, size_variation: 0, delay: 0 },
  async pipe(chunk, { config, stop, stub }) {
    const { average_size: avg = 0, size_variation: vary = 0, delay = 0 } = config.attributes;
    if (avg <= 0) return [chunk];
    let offset = 0;
    while (offset < chunk.length && !stop.aborted) {
      const size = Math.max(1, Math.round(avg + (Math.random() * 2 - 1) * vary));
      await stub.write(chunk.subarray(offset, offset + size));
      offset += size;
      if (offset < chunk.length) await wait(delay / 1000, stop);
    }
    return offset < chunk.length ? [chunk.subarray(offset)] : [];
  },
};
