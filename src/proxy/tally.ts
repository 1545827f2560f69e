/**
 * What one proxy counts for its metrics (GET /metrics reads it at scrape time): plain numbers,
 * added to per connection or per chunk, never per byte, so that counting costs the data path
 * nothing it would notice. Bytes of live connections stay in their links (`Link.bytes`); a
 * connection's are added here when it is gone.
 */
import type { Stream } from './toxics/index.js';

/** What a toxic did to a connection: sent an RST (to one side or both), or closed it with FIN. */
export type ToxicAction = 'reset' | 'close';

export class Tally {
  /** Connections accepted since the proxy was created. */
  accepted = 0;
  /** Bytes forwarded by connections that are gone, by direction. */
  readonly closedBytes: Record<Stream, number> = { upstream: 0, downstream: 0 };
  /** Connections a toxic reset or closed, by action and toxic type; once per connection each. */
  readonly actions = new Map<ToxicAction, Map<string, number>>();
  /** Bytes a toxic discarded instead of forwarding, by stream and toxic type. */
  readonly dropped = new Map<Stream, Map<string, number>>();

  acted(action: ToxicAction, type: string): void {
    add(this.actions, action, type, 1);
  }

  drop(stream: Stream, type: string, bytes: number): void {
    add(this.dropped, stream, type, bytes);
  }
}

function add<K>(map: Map<K, Map<string, number>>, key: K, type: string, n: number): void {
  let byType = map.get(key);
  if (!byType) map.set(key, (byType = new Map<string, number>()));
  byType.set(type, (byType.get(type) ?? 0) + n);
}
