/**
 * The kube testbed's cluster settings from their texts, one definition for the CLI's flags and a
 * scenario file's `kube:` block: replicas, the Service's form, the time-scale, NATS advertising,
 * and each control-plane delay as its real value.
 */
import { BadInputError } from '../errors.js';
import { KUBE_DELAYS, SERVICE_FORMS, defaultKube, type KubeSettings } from '../core/kube.js';
import { PROTOCOLS, type TargetName } from '../protocols/index.js';
import { parseChoice } from '../strategies/parse.js';
import { parseDuration } from '../util/duration.js';

export interface KubeOption {
  /** Scenario key (`time_scale`); the flag is `--time-scale`. */
  key: string;
  arg: string;
  help: string;
}

export const KUBE_OPTIONS: readonly KubeOption[] = [
  {
    key: 'replicas',
    arg: '<n>',
    help: 'server pods behind the Service, one per node (default: 3; mqtt: 1)',
  },
  {
    key: 'service',
    arg: '<cluster-ip|headless>',
    help: "how the client finds them: the Service's ClusterIP through kube-proxy (default), or a pod's own name (a headless Service)",
  },
  {
    key: 'time_scale',
    arg: '<x>',
    help: 'every Kubernetes delay below is its real value times this, e.g. 0.05 (default: 1, real time)',
  },
  {
    key: 'advertise',
    arg: '<yes|no>',
    help: "nats: the cluster tells clients every replica's address (default: no, as the seed's Helm values set cluster.noAdvertise)",
  },
  ...KUBE_DELAYS.map((d) => ({
    key: d.key,
    arg: '<duration>',
    help: `${d.help} (real value; scaled by --time-scale)`,
  })),
];

/** Settings from texts by key (undefined: not given); null when none was given at all. */
export function kubeFromTexts(
  texts: Record<string, string | undefined>,
  target: TargetName,
  name: (key: string) => string,
): KubeSettings | null {
  if (KUBE_OPTIONS.every((o) => texts[o.key] === undefined)) return null;
  const def = PROTOCOLS[target].target;
  const k = defaultKube(def.defaultReplicas);
  const replicas = texts.replicas;
  if (replicas !== undefined) {
    const n = Number(replicas);
    if (!Number.isInteger(n) || n < 1 || n > 5)
      throw new BadInputError(
        `${name('replicas')} '${replicas}' must be a whole number from 1 to 5`,
      );
    if (n > def.maxReplicas)
      throw new BadInputError(
        `${name('replicas')} ${n}: the ${target} target runs ${def.maxReplicas === 1 ? 'one replica only (it does not cluster)' : `at most ${def.maxReplicas}`}`,
      );
    k.replicas = n;
  }
  if (texts.service !== undefined)
    k.service = parseChoice(texts.service, SERVICE_FORMS, name('service'));
  if (texts.time_scale !== undefined) {
    const x = Number(texts.time_scale);
    if (!Number.isFinite(x) || x <= 0 || x > 10)
      throw new BadInputError(
        `${name('time_scale')} '${texts.time_scale}' must be a number above 0 and at most 10, e.g. 0.05`,
      );
    k.timeScale = x;
  }
  if (texts.advertise !== undefined) {
    if (!(def.broker && def.maxReplicas > 1))
      throw new BadInputError(`${name('advertise')} applies to a clustered broker (nats) only`);
    k.advertise = parseChoice(texts.advertise, ['yes', 'no'] as const, name('advertise')) === 'yes';
  }
  for (const d of KUBE_DELAYS) {
    const t = texts[d.key];
    if (t === undefined) continue;
    const ms = parseDuration(t, name(d.key));
    if (ms > 24 * 3_600_000) throw new BadInputError(`${name(d.key)} ${t} must be at most 24h`);
    k.delays[d.key] = ms;
  }
  return k;
}
