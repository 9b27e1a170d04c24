import cliProgress from 'cli-progress';
import { count, lossText } from './format.js';

/** What the bar shows beside the steps. */
export interface BarState {
  epoch: number;
  epochs: number;
  loss: number | null;
  smoothed: number | null;
  samplesPerSecond: number | null;
  /** Seconds until the whole job ends, at the current rate; null until there is a rate. */
  secondsLeft: number | null;
}

function timeLeft(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return minutes >= 60
    ? `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
    : `${String(minutes).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
}

const payloadOf = (state: BarState) => ({
  epochText: `${state.epoch}/${state.epochs}`,
  lossText: lossText(state.loss),
  smoothedText: lossText(state.smoothed),
  rateText: state.samplesPerSecond === null ? '-' : count(Math.round(state.samplesPerSecond)),
  leftText: timeLeft(state.secondsLeft),
});

/**
 * The progress bar of one epoch on a terminal (stderr): steps done of the epoch's, the last and
 * the smoothed loss, samples per second and the time left of the whole job.
 */
export function createEpochBar(stream: NodeJS.WriteStream) {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        'epoch {epochText} {bar} {value}/{total} steps | loss {lossText} (smoothed {smoothedText}) | {rateText} samples/s | {leftText} left',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      // Redrawn at most 10 times a second, however fast the steps arrive.
      fps: 10,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    /** Shows `done` of `total` steps of the epoch, starting the bar if it is not drawn. */
    update(done: number, total: number, state: BarState): void {
      if (!running) {
        bar.start(total, Math.min(done, total), payloadOf(state));
        running = true;
      } else bar.update(Math.min(done, total), payloadOf(state));
    },
    /** Removes the bar, so that a line can be printed where it was. */
    stop(): void {
      if (!running) return;
      bar.stop();
      running = false;
    },
  };
}
