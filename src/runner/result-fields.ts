/**
 * The fields of result.json (and of `halfopen run --json`, and of each experiment in
 * summary.json), described for the reference (docs/reference/results.md). Typed against
 * ExperimentResult: a new field without a description does not compile.
 */
import { VERDICTS } from '../advise/predict.js';
import type { FieldDocs } from '../report/field-docs.js';
import type { ExpectOutcome } from '../report/expect.js';
import type { ExperimentResult } from './result.js';

type Written = Omit<ExperimentResult, 'timeline'> & {
  expect: ExpectOutcome[];
  timeline_path: string;
};
type Kube = NonNullable<ExperimentResult['kube']>;

export const EXPECT_FIELDS: FieldDocs<ExpectOutcome> = {
  expect: 'the clause, as written',
  met: 'whether it was met',
  actual: 'what was measured, in words: `2.95 s`, `not detected in 1 of 3 runs`, `late`',
};

export const RESULT_FIELDS: FieldDocs<Written> = {
  testbed: 'where it ran: `netns`, `proxy`, `kube` or `k8s`',
  target: 'the server side: `tcp`, `nats`, `mqtt`, `ws`, `grpc` or `h2`',
  target_version:
    'the broker binary and its version (`nats-server 2.9.10`), or the built-in server and its library (`halfopen ws server on ws 8.23.0`)',
  client:
    'the client library and its version (`mqtt (MQTT.js) 5.16.0`), or `your command: ...` for your own client',
  strategy:
    'the strategy as its spec writes it, every key given (`nats:ping=5s,maxout=2,wait=2s,attempts=10`); `unknown (your program)` when your own client described none',
  workload: '`idle`, `publish:<rate>` or `subscribe:<rate>`',
  qos: 'the MQTT QoS of publish and subscribe; null for other targets',
  fault: 'the fault, by name',
  heal_ms: 'partition: when the drop was removed, in ms after T0, as asked (`--heal`); else null',
  restart_ms:
    'when the target was started again, in ms after T0, as asked (`--restart`); else null',
  latency: {
    text: 'the latency fault: its delay each way; else null',
    fields: { ms: 'the delay, in ms', jitter_ms: '+- this much, at random per chunk' },
  },
  idle_timeout: {
    text: "the idle-timeout fault: the middlebox's timeout and what it does with a forgotten flow; else null",
    fields: { ms: 'the idle timeout, in ms', on_expiry: '`drop` or `reset`' },
  },
  deadline_ms: 'how long after T0 a detection still counted',
  sysctls: 'the net.ipv4 sysctls set in the client namespace, by name',
  detect_ms:
    "from T0 to the client's first visible failure (EOF, an errno, a heartbeat timeout, the library's own event); null when not detected by the deadline",
  detect_reason:
    "what the client saw: `eof`, the errno code, `heartbeat-timeout`, `stale-connection`, `disconnect`, `offline`, `pong-timeout`, `1006`, `keepalive-timeout` or `IDLE` (gRPC), `ping-timeout`, `GOAWAY` codes; for your own client the kernel's `ESTABLISHED->...` or the matching log line",
  stale_sent:
    'messages accepted from T0 until the detection (null when unknown: `lost_from` is `gaps`)',
  lost: 'accepted messages the receiving side never received by the end of the experiment',
  duplicates: 'messages received more than once (MQTT QoS 1 redelivery)',
  sent: "messages accepted by the sending side's API (with `subscribe:<rate>` the far side sends); null when unknown",
  received: 'distinct messages received',
  reconnect_ms:
    "from the path's return (the heal, the restarted target accepting; for a fault that breaks only the one flow, the detection) to the first delivery after it; null when there was none",
  false_disconnects: 'detections before the fault',
  heal_at_ms: 'when the heal happened, in ms after T0; null without one',
  lost_from:
    '`accepted`: the sender reported each accepted message; `gaps`: your own client printed no `sent <seq>`, so loss is the numbers missing below the highest delivered',
  timer_lateness_ms:
    "the largest lateness of their own timers that the client and the lab's target measured, from 1 s before T0 to the detection; null when none reported (a broker target, your own program)",
  predicted_ms:
    "the window `[min, max]` in ms after T0 from the strategy's and the fault's formula; null when the formula says never",
  predicted_why: 'the formula, in words, with the numbers put in',
  verdict: `the measurement against the window: ${VERDICTS.map((v) => `\`${v}\``).join(', ')}`,
  wire: 'what each fault rule or toxic counted, by name: packets matched in the router (`partition:0` client to server, `partition:1` server to client), or connections and bytes a toxic touched',
  sockopts: 'the socket options the kernel reported after the strategy set them (the TCP client)',
  fault_apply_ms:
    'from T0 until the lab saw the fault in force (the iptables transaction, the signal): the fault took hold somewhere in between',
  allowance_ms:
    'how far beyond the window the verdict allowed, `[below min, above max]`: 25 ms + 1 % of the bound + `timer_lateness_ms`, + `fault_apply_ms` above the max; null without a window',
  flow: {
    text: "the client's connection the fault hit, as the client namespace's kernel listed it; null when the testbed could not tell",
    fields: { client: "the client's address:port", server: "the server's address:port" },
  },
  fault_params: 'the fault\'s own parameters by key, e.g. `{"same_ip": "yes"}`',
  kube: {
    text: 'the kube and k8s testbeds: the cluster, where the client was, and what Kubernetes did; else null',
    fields: {
      replicas: 'server pods behind the Service',
      service: '`cluster-ip` or `headless`',
      time_scale: 'the factor on every Kubernetes delay (1: real time)',
      advertise: "nats: whether the cluster told clients every replica's address",
      pod_at_fault: "the pod the client's connection was on at T0 (null: none open then)",
      pod_at_stop: "the pod the client's connection was on at the stop (null: none open then)",
      ip_at_fault: "that pod's address at T0 (a replacement keeps the name, not the address)",
      ip_at_stop: "that pod's address at the stop",
      events: {
        text: 'the Kubernetes events, in order',
        fields: {
          at_ms: 'when, in ms from T0 (negative: before it)',
          object: 'the kind of object: a pod, an endpoint, a node, conntrack, ...',
          name: "the object's name",
          change: 'what happened to it',
        },
      },
    } satisfies FieldDocs<Kube>,
  },
  events: {
    text: "every status event the client's library emitted, in order",
    fields: {
      at_ms: 'when, in ms from T0 (negative: before the fault)',
      name: "the library's name for it (`disconnect`, `offline`, `close`, ...)",
      detail: 'what it said, when it said more',
    } satisfies FieldDocs<ExperimentResult['events'][number]>,
  },
  expect: {
    text: 'with `--expect`: each clause given, and whether the result met it (absent without one)',
    fields: EXPECT_FIELDS,
  },
  timeline_path: '`halfopen run --json` only: where timeline.jsonl was written',
};
