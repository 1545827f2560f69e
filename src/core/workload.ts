/**
 * What the client does while it waits for the fault. `publish`: the client sends and the sink on
 * the target's side receives. `subscribe`: the far side publishes at `rate` and the client
 * receives (a broker's sink, or a server that pushes).
 */
import { BadInputError } from '../errors.js';

export type Workload =
  { kind: 'idle' } | { kind: 'publish'; rate: number } | { kind: 'subscribe'; rate: number };

export function parseWorkload(text: string): Workload {
  if (text === 'idle') return { kind: 'idle' };
  const m = /^(publish|subscribe):(\d+(?:\.\d+)?)$/.exec(text);
  if (m) {
    const rate = Number(m[2]);
    if (rate >= 0.01 && rate <= 10_000) return { kind: m[1] as 'publish' | 'subscribe', rate };
  }
  throw new BadInputError(
    `workload '${text}' is unknown (expected idle, publish:<rate> or subscribe:<rate>, in messages per second from 0.01 to 10000, e.g. publish:10)`,
  );
}

export function formatWorkload(w: Workload): string {
  return w.kind === 'idle' ? 'idle' : `${w.kind}:${w.rate}`;
}

/** Time between the client's own messages (0 when it sends none). */
export const sendGapMs = (w: Workload): number => (w.kind === 'publish' ? 1000 / w.rate : 0);
