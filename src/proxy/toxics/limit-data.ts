import type { Toxic } from './types.js';

/** limit_data: after `bytes` bytes have passed in this direction, the connection is closed. */
export const limitData: Toxic = {
  defaults: { bytes: 0 },
  pipe(chunk, { config, stub }) {
    const limit = config.attributes.bytes ?? 0;
    const left = limit - stub.passed();
    if (left <= 0) {
      stub.close();
      return [];
    }
    stub.count(Math.min(left, chunk.length));
    if (chunk.length >= left) {
      // After the pump has written this last piece.
      setImmediate(() => stub.close());
      return [chunk.subarray(0, left)];
    }
    return [chunk];
  },
};
