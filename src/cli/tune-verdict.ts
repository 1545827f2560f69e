/** What `tune --verify` found of each setting, and the exit code it makes. */
import { EXIT } from '../errors.js';

/** What a measurement said about one recommendation. */
export interface Verification {
  /** The partition: detected when, and whether in time. */
  partition: { testbed: string; detect_ms: number | null; in_time: boolean };
  /**
   * The slow path: how slow, for how long, and whether it held. Null for the kernel's own timers:
   * the fault proxy's kernel answers for the peer, and netns has no latency without netem.
   */
  slow_path: {
    latency_ms: number;
    jitter_ms: number;
    for_ms: number;
    false_disconnect: boolean;
  } | null;
  passed: boolean;
  /** The lab failed to measure it (the message), rather than the setting failing. */
  error?: string;
}

/**
 * The exit code of `--verify`: 3 when a setting the lab measured failed (noticed too late, or
 * disconnected on the slow path), as a missed expectation is; 0 otherwise. A setting the lab could
 * not measure (its error says why) is reported, not judged.
 */
export function verifyExitCode(checks: readonly (Verification | null)[]): number {
  const failed = checks.some((c) => c !== null && c.error === undefined && !c.passed);
  return failed ? EXIT.missed : EXIT.ok;
}
