import { find, type KubeObject, type ScaledObject } from './render.js';

/** The series a KEDA Prometheus trigger's query sums: its metric name and the label values it selects. */
export interface QueueQuery {
  metric: string;
  /** The queue states it counts (the `state=~"…"` matcher). */
  states: string[];
  namespace: string | undefined;
}

/** The metadata of a ScaledObject's Prometheus trigger; throws when it has none. */
export function prometheusTrigger(scaler: ScaledObject): Record<string, string> {
  const trigger = scaler.spec.triggers.find((candidate) => candidate.type === 'prometheus');
  if (!trigger) throw new Error(`ScaledObject ${scaler.metadata.name} has no prometheus trigger`);
  return trigger.metadata;
}

export function parseQueueQuery(query: string | undefined): QueueQuery {
  const selector = /([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/.exec(query ?? '');
  if (!selector?.[1]) throw new Error(`no metric selector in the query ${query}`);
  const matchers = new Map(
    [...(selector[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=~?\s*"([^"]*)"/g)].map(([, label, value]) => [
      label,
      value ?? '',
    ]),
  );
  return {
    metric: selector[1],
    states: (matchers.get('state') ?? '').split('|').filter(Boolean),
    namespace: matchers.get('namespace'),
  };
}

/** The query of the workers' ScaledObject, read apart. */
export function workerScalerQuery(objects: readonly KubeObject[]): QueueQuery {
  return parseQueueQuery(prometheusTrigger(find<ScaledObject>(objects, 'ScaledObject', 'trainer-worker')).query);
}
