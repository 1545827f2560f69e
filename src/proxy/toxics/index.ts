/** Every toxic, by the type name the API uses. */
import { bandwidth } from './bandwidth.js';
import { blackhole } from './blackhole.js';
import { idleTimeout } from './idle-timeout.js';
import { latency } from './latency.js';
import { limitData } from './limit-data.js';
import { resetPeer } from './reset-peer.js';
import { slicer } from './slicer.js';
import { slowClose } from './slow-close.js';
import { timeout } from './timeout.js';
import type { Toxic } from './types.js';

export const TOXICS: Record<string, Toxic> = {
  latency,
  bandwidth,
  slow_close: slowClose,
  timeout,
  reset_peer: resetPeer,
  slicer,
  limit_data: limitData,
  blackhole,
  idle_timeout: idleTimeout,
};

export type { Stream, Toxic, ToxicConfig, ToxicContext } from './types.js';
