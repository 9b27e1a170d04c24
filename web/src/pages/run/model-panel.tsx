import type { Job } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, optional } from '../../api';
import { useCapabilities } from '../../capabilities';
import { DrawingCanvas } from '../../components/drawing-canvas';
import { DownloadLink } from '../../components/with-key';
import { drawingTarget, type DrawingTarget } from '../../drawing';
import { runName } from '../../format';
import { usePermissions } from '../../session';

/**
 * What a drawing on the job's model would stand for: undefined while unknown, null when its dataset's
 * examples are no 28x28 grey images (or its description is gone: a deleted upload).
 */
function useDrawingTarget(dataset: string, wanted: boolean): DrawingTarget | null | undefined {
  const [target, setTarget] = useState<DrawingTarget | null | undefined>(undefined);
  useEffect(() => {
    if (!wanted) return;
    let current = true;
    optional(api.GET('/datasets/{name}', { params: { path: { name: dataset } } })).then(
      (view) => current && setTarget(view && drawingTarget(view)),
      () => current && setTarget(null),
    );
    return () => {
      current = false;
    };
  }, [dataset, wanted]);
  return target;
}

/** Whether the job has a trained model to download (GET /jobs/:id/model answers), asked again as it trains. */
function useHasModel(job: Job, available: boolean): boolean {
  const [hasModel, setHasModel] = useState(false);
  useEffect(() => {
    if (!available || job.metrics.epochs.length === 0) return;
    api.GET('/jobs/{id}/model', { params: { path: { id: job.id } } }).then(
      ({ response }) => setHasModel(response.ok),
      () => setHasModel(false),
    );
  }, [available, job.id, job.status, job.metrics.epochs.length]);
  return hasModel;
}

function Downloads({ job }: { job: Job }) {
  const { auth } = usePermissions();
  return (
    <p>
      TensorFlow.js layers format:{' '}
      <DownloadLink href={`/jobs/${job.id}/model`} download={`${runName(job)}-model.json`}>
        model.json
      </DownloadLink>{' '}
      and{' '}
      <DownloadLink href={`/jobs/${job.id}/model/weights.bin`} download={`${runName(job)}-weights.bin`}>
        weights.bin
      </DownloadLink>{' '}
      (final);{' '}
      <DownloadLink href={`/jobs/${job.id}/model?version=best`} download={`${runName(job)}-best-model.json`}>
        best epoch's model.json
      </DownloadLink>
      . Load it with{' '}
      <code>
        tf.loadLayersModel('{location.origin}/jobs/{job.id}/model'
        {auth === 'required' && ", { requestInit: { headers: { authorization: 'Bearer <key>' } } }"})
      </code>
      .
    </p>
  );
}

/** The trained model's downloads and a canvas to draw on and see its prediction, once it has one. */
export function ModelPanel({ job }: { job: Job }) {
  const capabilities = useCapabilities();
  const hasModel = useHasModel(job, capabilities.model);
  const drawing = useDrawingTarget(job.dataset, hasModel && capabilities.predict);
  if (!hasModel) return null;
  return (
    // data-drawing: what the canvas draws, 'none' when there is none; absent while that is unknown.
    <section
      aria-labelledby="model-heading"
      data-drawing={drawing === undefined ? undefined : (drawing?.subject ?? 'none')}
    >
      <h2 id="model-heading">Model</h2>
      <Downloads job={job} />
      {capabilities.predict && drawing && <DrawingCanvas jobId={job.id} target={drawing} />}
    </section>
  );
}
