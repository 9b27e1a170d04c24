import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  ApiError,
  apiFetch,
  cancelJob,
  finished,
  getJson,
  getOptional,
  type DatasetView,
  type EpochMetrics,
  type JobView,
} from '../api';
import { useCapabilities } from '../capabilities';
import { ConnectionBadge, StatusBadge } from '../components/badges';
import { DrawingCanvas } from '../components/drawing-canvas';
import { EvaluationPanel } from '../components/evaluation';
import { SmoothingControl } from '../components/smoothing-control';
import { LineChart, type ChartSeries } from '../components/line-chart';
import { drawingTarget, type DrawingTarget } from '../drawing';
import { dateTime, duration, eta, integer, loss, percent, runName } from '../format';
import { useLiveCurve, type LiveCurve } from '../loss-curve';
import { DownloadLink } from '../components/with-key';
import { Link } from '../router';
import { usePermissions } from '../session';

function useJob(id: string) {
  const [job, setJob] = useState<JobView | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);
  const reload = () =>
    getJson<JobView>(`/jobs/${id}`).then(setJob, (failure: unknown) =>
      setError(
        failure instanceof ApiError
          ? { status: failure.status, message: failure.message }
          : { status: 0, message: String(failure) },
      ),
    );
  useEffect(() => void reload(), [id]);
  return { job, setJob, error, reload };
}

/** `onCancel`: undefined for a key that may not cancel (a viewer). */
function Summary({ job, onCancel }: { job: JobView; onCancel: (() => void) | undefined }) {
  const { progress } = job;
  return (
    <div class="summary">
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={job.status} />
          {job.cancelRequested && !finished(job.status) && <span class="muted"> cancel requested</span>}
        </dd>
        <dt>Progress</dt>
        <dd>
          <progress max={1} value={progress.fraction} aria-label="Training progress" />
          <span class="small block">
            epoch {progress.epoch}/{job.spec.epochs}, step {integer(progress.step)}/{integer(progress.totalSteps)}
            {job.status === 'running' && ` · ${eta(job.startedAt, progress.fraction)}`}
          </span>
        </dd>
        <dt>Architecture</dt>
        <dd class="mono">{job.architecture}</dd>
        <dt>Parameters</dt>
        <dd>{integer(job.parameterCount)}</dd>
        <dt>Accuracy</dt>
        <dd>
          final {percent(job.finalTestAccuracy)}, best {percent(job.bestTestAccuracy)}
        </dd>
        <dt>Backend</dt>
        <dd>{job.backend ?? '–'}</dd>
        <dt>Attempts</dt>
        <dd>{job.attempts}</dd>
        <dt>Created</dt>
        <dd>{dateTime(job.createdAt)}</dd>
        <dt>Duration</dt>
        <dd>{duration(job.durationMs)}</dd>
        {job.tags.length > 0 && (
          <>
            <dt>Tags</dt>
            <dd>{job.tags.join(', ')}</dd>
          </>
        )}
      </dl>
      {job.error && (
        <p class="error" role="alert">
          <strong>Error:</strong> {job.error}
        </p>
      )}
      {!finished(job.status) && onCancel && (
        <button type="button" class="danger" onClick={onCancel} disabled={job.cancelRequested}>
          {job.cancelRequested ? 'Cancelling…' : 'Cancel job'}
        </button>
      )}
    </div>
  );
}

function LossPanel({
  live,
  smoothing,
  setSmoothing,
}: {
  live: LiveCurve;
  smoothing: number;
  setSmoothing: (value: number) => void;
}) {
  const { curve, version } = live;
  const series: ChartSeries[] = [
    { label: 'loss', stroke: 'rgba(31,119,180,0.3)', width: 1 },
    { label: `smoothed (${smoothing.toFixed(2)})`, stroke: '#1f77b4', width: 2 },
  ];
  const data = useMemo(() => [curve.steps, curve.losses, curve.smoothed] as [number[], number[], number[]], [version]);
  const last = curve.steps.length;
  return (
    <section aria-labelledby="loss-heading">
      <div class="title-row">
        <h2 id="loss-heading">Training loss</h2>
        <ConnectionBadge state={live.connection} />
        <div class="spacer" />
        <SmoothingControl value={smoothing} onChange={setSmoothing} />
      </div>
      <div class="loss-chart" data-points={last} data-last-step={curve.lastStep}>
        <LineChart
          title={`Training loss by step, ${last} points up to step ${curve.lastStep}`}
          xLabel="step"
          yLabel="loss"
          series={series}
          data={data}
          version={version}
        />
      </div>
      <p class="small muted">
        {last === 0
          ? 'No steps yet.'
          : `${integer(last)} points up to step ${integer(curve.lastStep)}, last loss ${loss(curve.losses.at(-1))}${
              live.downsampled
                ? ` (history of ${integer(live.totalSteps)} steps downsampled, then every live step)`
                : ''
            }.`}
        {live.error && <span class="error"> Could not load the history: {live.error}</span>}
      </p>
    </section>
  );
}

function EpochPanel({ epochs }: { epochs: EpochMetrics[] }) {
  const data = useMemo(
    () =>
      [
        epochs.map((epoch) => epoch.epoch),
        epochs.map((epoch) => epoch.testAccuracy),
        epochs.map((epoch) => epoch.testLoss),
        epochs.map((epoch) => epoch.trainLoss),
      ] as [number[], number[], number[], number[]],
    [epochs],
  );
  return (
    <section aria-labelledby="epochs-heading">
      <h2 id="epochs-heading">Epochs</h2>
      {epochs.length > 0 && (
        <LineChart
          title="Test accuracy, test loss and training loss per epoch; the table below has the values"
          xLabel="epoch"
          integerX
          yLabel="loss"
          series={[
            { label: 'test accuracy', stroke: '#2ca02c', width: 2, points: true },
            { label: 'test loss', stroke: '#d62728', width: 2, points: true },
            { label: 'train loss', stroke: '#ff7f0e', width: 2, dash: [6, 4], points: true },
          ]}
          rightAxis={{
            label: 'accuracy',
            series: ['test accuracy'],
            format: (value) => `${Math.round(value * 1000) / 10}%`,
          }}
          data={data}
          height={220}
        />
      )}
      <div class="table-scroll" hidden={epochs.length === 0}>
        <table class="epochs">
          <thead>
            <tr>
              <th scope="col">Epoch</th>
              <th scope="col" class="num">
                Test accuracy
              </th>
              <th scope="col" class="num">
                Test loss
              </th>
              <th scope="col" class="num">
                Train loss
              </th>
              <th scope="col" class="num">
                Duration
              </th>
              <th scope="col" class="num">
                Samples/s
              </th>
            </tr>
          </thead>
          <tbody>
            {epochs.map((epoch) => (
              <tr key={epoch.epoch}>
                <td>{epoch.epoch}</td>
                <td class="num">{percent(epoch.testAccuracy)}</td>
                <td class="num">{loss(epoch.testLoss)}</td>
                <td class="num">{loss(epoch.trainLoss)}</td>
                <td class="num">{duration(epoch.durationMs)}</td>
                <td class="num">{integer(Math.round(epoch.samplesPerSecond))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {epochs.length === 0 && <p class="muted">No epoch has finished yet.</p>}
    </section>
  );
}

/**
 * What a drawing on the job's model would stand for: undefined while unknown, null when its dataset's
 * examples are no 28x28 grey images (or its description is gone: a deleted upload).
 */
function useDrawingTarget(dataset: string, wanted: boolean): DrawingTarget | null | undefined {
  const [target, setTarget] = useState<DrawingTarget | null | undefined>(undefined);
  useEffect(() => {
    if (!wanted) return;
    let current = true;
    getOptional<DatasetView>(`/datasets/${encodeURIComponent(dataset)}`).then(
      (view) => current && setTarget(view && drawingTarget(view)),
      () => current && setTarget(null),
    );
    return () => {
      current = false;
    };
  }, [dataset, wanted]);
  return target;
}

function ModelPanel({ job }: { job: JobView }) {
  const capabilities = useCapabilities();
  const { auth } = usePermissions();
  const [hasModel, setHasModel] = useState(false);
  useEffect(() => {
    if (!capabilities.model || job.metrics.epochs.length === 0) return;
    apiFetch(`/jobs/${job.id}/model`).then(
      (response) => setHasModel(response.ok),
      () => setHasModel(false),
    );
  }, [capabilities.model, job.id, job.status, job.metrics.epochs.length]);
  const drawing = useDrawingTarget(job.dataset, hasModel && capabilities.predict);
  if (!hasModel) return null;
  return (
    // data-drawing: what the canvas draws, 'none' when there is none; absent while that is unknown.
    <section
      aria-labelledby="model-heading"
      data-drawing={drawing === undefined ? undefined : (drawing?.subject ?? 'none')}
    >
      <h2 id="model-heading">Model</h2>
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
      {capabilities.predict && drawing && <DrawingCanvas jobId={job.id} target={drawing} />}
    </section>
  );
}

export function RunPage({ id }: { id: string }) {
  const { job, setJob, error, reload } = useJob(id);
  const { write } = usePermissions();
  const [smoothing, setSmoothing] = useState(0.6);
  const [notice, setNotice] = useState<string | null>(null);
  const live = useLiveCurve(id, job?.status, smoothing, {
    onEpoch: (metrics) => {
      setJob((old) =>
        old && !old.metrics.epochs.some((epoch) => epoch.epoch === metrics.epoch)
          ? { ...old, metrics: { epochs: [...old.metrics.epochs, metrics] } }
          : old,
      );
      void reload();
    },
    onStatus: () => void reload(),
  });
  // Progress between epochs: the job row, every 2 s while it trains.
  useEffect(() => {
    if (!job || finished(job.status)) return;
    const timer = setInterval(() => void reload(), 2000);
    return () => clearInterval(timer);
  }, [job?.status]);

  if (error)
    return (
      <section>
        <h1>Run {id.slice(0, 8)}</h1>
        <p class="error">{error.status === 404 ? 'No run has this id.' : `Could not load the run: ${error.message}`}</p>
        <Link href="/runs">All runs</Link>
      </section>
    );
  if (!job) return <p aria-busy="true">Loading…</p>;

  const cancel = async () => {
    try {
      setJob(await cancelJob(job.id));
      setNotice('Cancel requested: the worker stops the job between batches.');
    } catch (failure) {
      setNotice(failure instanceof Error ? failure.message : String(failure));
    }
    void reload();
  };

  return (
    <article class="run" data-status={job.status}>
      <div class="title-row">
        <h1>{runName(job)}</h1>
        <StatusBadge status={job.status} />
        <div class="spacer" />
        {write && (
          <Link class="button" href={`/runs/new?from=${job.id}`}>
            Run again…
          </Link>
        )}
      </div>
      <p role="status" class="notice">
        {notice}
      </p>
      <div class="run-grid">
        <Summary job={job} onCancel={write ? () => void cancel() : undefined} />
        <LossPanel live={live} smoothing={smoothing} setSmoothing={setSmoothing} />
      </div>
      <EpochPanel epochs={job.metrics.epochs} />
      {job.metrics.epochs.length > 0 && <EvaluationPanel job={job} />}
      <ModelPanel job={job} />
      <section aria-labelledby="spec-heading">
        <h2 id="spec-heading">Spec</h2>
        <pre class="spec">{JSON.stringify(job.spec, null, 2)}</pre>
      </section>
    </article>
  );
}
