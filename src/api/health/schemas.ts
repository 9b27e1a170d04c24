import { z } from 'zod';
import { accelerators } from '../../domain/spec-vocabulary.js';

const probe = z.union([
  z.object({ ok: z.literal(true), latencyMs: z.int() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

/** A live worker as it announces itself in Redis. */
export const workerView = z
  .object({
    id: z.string(),
    host: z.string(),
    pid: z.int(),
    backend: z.string(),
    concurrency: z.int(),
    accelerator: z
      .enum(accelerators)
      .optional()
      .describe(
        'What it trains on: "gpu" workers take only jobs that asked for a GPU; absent from older workers (cpu)',
      ),
    startedAt: z.string(),
  })
  .meta({ id: 'Worker' });
export type WorkerView = z.output<typeof workerView>;

export const healthReport = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    ok: z.boolean(),
    database: probe,
    redis: probe,
    training: z.object({ workers: z.int(), backends: z.array(z.string()) }),
    workers: z.array(workerView),
  })
  .meta({ id: 'Health' });
export type HealthReport = z.output<typeof healthReport>;

export const liveness = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });
