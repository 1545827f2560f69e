/** How the NATS client and sink put sequence numbers on a subject and read them back. */
import type { NatsConnection } from '@nats-io/transport-node';
import { emit } from '../../events.js';

/**
 * Publishes one sequence number. publish() only throws when the connection is closed or
 * draining; otherwise the message counts as accepted (nats.js buffers it while disconnected).
 */
export function publishSeq(nc: NatsConnection, subject: string, seq: number): void {
  try {
    nc.publish(subject, String(seq));
    emit({ type: 'sent', seq });
  } catch (err) {
    emit({ type: 'send_failed', seq, error: (err as Error).message });
  }
}

/** Subscribes and reports every sequence number received. */
export function recordMessages(nc: NatsConnection, subject: string): void {
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (!err) emit({ type: 'recv', seq: Number(msg.string()) });
    },
  });
}
