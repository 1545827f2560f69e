/** Every emitter, by the name `--emit` takes. */
import { BadInputError } from '../errors.js';
import type { Strategy } from '../strategies/index.js';
import type { Window } from '../core/window.js';
import { grpcGo, grpcJava, grpcJs } from './grpc.js';
import { mqttJs, pahoGo, pahoJava, pahoPython } from './mqtt.js';
import { JNATS, NATS_GO, NATS_JS, NATS_PY } from './nats.js';
import { GO_NET, NODE_NET } from './tcp.js';
import type { Emitter } from './types.js';
import { wsEmitter } from './ws.js';

export type { Emitter, Language } from './types.js';

/** Registered here, one line per library (keep the list sorted). */
const LIST: readonly Emitter[] = [
  GO_NET, // go-net
  grpcGo, // grpc-go
  grpcJava, // grpc-java
  grpcJs, // grpc-js
  JNATS, // jnats
  mqttJs, // mqtt.js
  NATS_GO, // nats.go
  NATS_JS, // nats.js
  NATS_PY, // nats.py
  NODE_NET, // node:net
  pahoGo, // paho-go
  pahoJava, // paho-java
  pahoPython, // paho-python
  wsEmitter, // ws
];

export const EMITTERS: ReadonlyMap<string, Emitter> = new Map(LIST.map((e) => [e.library, e]));

export function emitterFor(library: string): Emitter {
  const e = EMITTERS.get(library);
  if (!e)
    throw new BadInputError(
      `--emit '${library}' is not a library halfopen writes for (one of: ${[...EMITTERS.keys()].join(', ') || 'none yet'})`,
    );
  return e;
}

/** The code for `s`, or why this library cannot express it. */
export function emit(library: string, s: Strategy, window: Window | null = null): string {
  const e = emitterFor(library);
  if (!e.kinds.includes(s.kind))
    throw new BadInputError(
      `--emit ${library} writes ${e.kinds.join(', ')} settings, not ${s.kind}`,
    );
  return e.emit(s, window);
}
