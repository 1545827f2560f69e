import type { RawData } from 'ws';

/** A ws message or ping payload as text, whichever buffer shape ws delivered it in. */
export const rawText = (data: RawData): string =>
  (Array.isArray(data)
    ? Buffer.concat(data)
    : Buffer.isBuffer(data)
      ? data
      : Buffer.from(new Uint8Array(data))
  ).toString('utf8');
