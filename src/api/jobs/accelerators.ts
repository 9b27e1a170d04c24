import type { Accelerator } from '../../domain/spec-vocabulary.js';

/** Whether a live worker trains on an accelerator (a GPU worker has registered). */
export type AcceleratorAvailable = (accelerator: Accelerator) => Promise<boolean>;

/**
 * Why a spec that asks for an accelerator no live worker offers is refused, or null when it may be
 * queued: it asks for none (or the CPU), it says it may wait, or a worker offers it. Queued without
 * a worker, it would wait silently for one that may never come.
 */
export async function acceleratorRefusal(
  spec: { accelerator?: Accelerator | undefined; waitForAccelerator?: boolean | undefined },
  available: AcceleratorAvailable | undefined,
): Promise<string | null> {
  const accelerator = spec.accelerator;
  if (accelerator === undefined || accelerator === 'cpu' || spec.waitForAccelerator === true) return null;
  if (!available || (await available(accelerator))) return null;
  return `no ${accelerator.toUpperCase()} worker is registered; set "waitForAccelerator": true to queue the job until one starts`;
}
