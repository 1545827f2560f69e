/** How the MQTT client and sink put sequence numbers on a topic and read them back. */
import type { MqttClient } from 'mqtt';
import { emit } from '../../events.js';

/**
 * Publishes one sequence number. It counts as accepted when the callback reports no error:
 * QoS 1, the PUBACK arrived; QoS 0, the packet was written (or flushed from the offline queue).
 */
export function publishSeq(client: MqttClient, topic: string, qos: 0 | 1, seq: number): void {
  client.publish(topic, String(seq), { qos }, (err) =>
    emit(err ? { type: 'send_failed', seq, error: err.message } : { type: 'sent', seq }),
  );
}

/** Reports every sequence number received on the client's subscriptions. */
export function recordMessages(client: MqttClient): void {
  client.on('message', (_topic, payload) =>
    emit({ type: 'recv', seq: Number(payload.toString()) }),
  );
}
