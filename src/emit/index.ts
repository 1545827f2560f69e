/** Every emitter, by the name `--emit` takes. */
import { BadInputError } from '../errors.js';
import type { Strategy } from '../strategies/index.js';
import { grpcGo, grpcJava, grpcJs } from './grpc.js';
import { mqttJs, pahoGo, pahoJava, pahoPython } from './mqtt.js';
import type { Emitter } from './types.js';
import { wsEmitter } from './ws.js';

export type { Emitter, Language } from './types.js';

/** Registered here, one line per library (keep the list sorted). */
const LIST: readonly Emitter[] = [
  grpcGo, // grpc-go
  grpcJava, // grpc-java
  grpcJs, // grpc-js
  mqttJs, // mqtt.js
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
export function emit(library: string, s: Strategy): string {
  const e = emitterFor(library);
  if (!e.kinds.includes(s.kind))
    throw new BadInputError(
      `--emit ${library} writes ${e.kinds.join(', ')} settings, not ${s.kind}`,
    );
  return e.emit(s);
}
