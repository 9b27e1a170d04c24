import { isSweepEvent } from '../../domain/webhooks.js';
import type { JobsRepository } from '../../store/jobs-repository.js';
import type { SweepsRepository } from '../../store/sweeps/sweeps-repository.js';
import type { OutboxEvent } from '../../store/webhooks/deliveries-repository.js';
import { jobView } from '../jobs/job-view.js';
import type { DatasetResolver } from '../jobs/submit-job.js';
import { storedConfigs } from '../sweeps/sweeps-service.js';
import { sweepView } from '../sweeps/sweep-view.js';

export interface EventDataDeps {
  jobs: Pick<JobsRepository, 'find'>;
  sweeps: Pick<SweepsRepository, 'find' | 'runs'>;
  findDataset: DatasetResolver;
}

/**
 * An event's `data`: the job or sweep exactly as GET /jobs/:id or GET /sweeps/:id answers it, as it
 * stands when the relay picks the event up; null when it was deleted meanwhile.
 */
export function createEventData(deps: EventDataDeps) {
  return async function describe(event: OutboxEvent): Promise<unknown> {
    if (isSweepEvent(event.type)) {
      const sweep = await deps.sweeps.find(event.subjectId);
      if (!sweep) return null;
      return sweepView(sweep, await storedConfigs(sweep, deps.findDataset), await deps.sweeps.runs(sweep.id));
    }
    const job = await deps.jobs.find(event.subjectId);
    return job && jobView(job);
  };
}
