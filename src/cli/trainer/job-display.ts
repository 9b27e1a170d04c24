import type { EpochMessage, Job, StatusMessage, StepsMessage } from '@trainer/client';
import { createEpochBar } from './epoch-bar.js';
import { count, duration, lossText, percent } from './format.js';
import type { Output } from './output.js';
import { createTrainingRate } from './training-rate.js';

/** How a followed job is shown as its messages arrive. */
export interface JobDisplay {
  steps(message: StepsMessage): void;
  epoch(message: EpochMessage): void;
  status(message: StatusMessage): void;
  /** A line about the connection, not about the job (a lost connection, a reconnect). */
  notice(text: string): void;
  /** Removes whatever is drawn (a bar) before the process prints its last lines. */
  close(): void;
}

/** One finished epoch as a line: its test (and validation) accuracy and loss, speed and time. */
export function epochLine(message: EpochMessage, epochs: number, output: Output): string {
  const { style } = output;
  const validation =
    message.validationAccuracy === undefined
      ? ''
      : `  validation ${percent(message.validationAccuracy)} loss ${lossText(message.validationLoss)}`;
  return (
    `epoch ${message.epoch}/${epochs}  test accuracy ${style.bold(percent(message.testAccuracy))}  test loss ${lossText(message.testLoss)}` +
    `${validation}  train loss ${lossText(message.trainLoss)}  ${count(Math.round(message.samplesPerSecond))} samples/s  ${duration(message.durationMs)}`
  );
}

/** --json: every message as it came, one per line. */
function jsonDisplay(output: Output): JobDisplay {
  return {
    steps: (message) => output.result(message),
    epoch: (message) => output.result(message),
    status: (message) => output.result(message),
    notice: (text) => output.warn(JSON.stringify({ type: 'connection', message: text })),
    close: () => undefined,
  };
}

/** Text: a line per epoch and per status change; on a terminal, a bar per epoch on stderr as well. */
function textDisplay(job: Job, output: Output): JobDisplay {
  const epochs = job.spec.epochs;
  const stepsPerEpoch = Math.max(1, Math.ceil(job.progress.totalSteps / epochs));
  const bar = output.bars ? createEpochBar(process.stderr) : null;
  const rate = createTrainingRate();
  const printed = new Set<number>();
  return {
    steps(message) {
      const last = message.steps.at(-1);
      if (!last || !bar) return;
      for (const step of message.steps) rate.add(step.step, step.loss);
      const stepsPerSecond = rate.stepsPerSecond();
      const firstOfEpoch = (last.epoch - 1) * stepsPerEpoch;
      bar.update(last.step - firstOfEpoch, stepsPerEpoch, {
        epoch: last.epoch,
        epochs,
        loss: last.loss,
        smoothed: rate.smoothedLoss(),
        samplesPerSecond: stepsPerSecond === null ? null : stepsPerSecond * job.spec.batchSize,
        secondsLeft: stepsPerSecond === null ? null : (job.progress.totalSteps - last.step) / stepsPerSecond,
      });
    },
    epoch(message) {
      bar?.stop();
      if (printed.has(message.epoch)) return;
      printed.add(message.epoch);
      output.say(epochLine(message, epochs, output));
    },
    status(message) {
      bar?.stop();
      const { style } = output;
      if (message.status === 'running') output.say(style.dim(`running on the server`));
      else if (message.status === 'failed') output.say(style.red(`failed: ${message.error ?? 'no reason given'}`));
      else if (message.status === 'cancelled')
        output.say(style.yellow(`cancelled${message.error ? `: ${message.error}` : ''}`));
    },
    notice(text) {
      bar?.stop();
      output.warn(text);
    },
    close: () => bar?.stop(),
  };
}

export function createJobDisplay(job: Job, output: Output): JobDisplay {
  return output.json ? jsonDisplay(output) : textDisplay(job, output);
}

/** The run's summary once it has ended: status, accuracies, loss, duration, and where to go next. */
export function summaryText(job: Job, output: Output): string {
  const { style } = output;
  const colour = job.status === 'completed' ? style.green : job.status === 'failed' ? style.red : style.yellow;
  const lines = [
    `${style.bold(job.name ?? job.id)} ${colour(job.status)}${job.error ? `: ${job.error}` : ''}`,
    `  id               ${job.id}`,
    `  architecture     ${job.architecture} (${count(job.parameterCount)} parameters)`,
    `  epochs           ${job.metrics.epochs.length}/${job.spec.epochs}${job.stoppedEarly ? ` (stopped early: ${job.stoppedEarly.reason})` : ''}`,
    `  final accuracy   ${percent(job.finalTestAccuracy)} (best ${percent(job.bestTestAccuracy)}${job.bestEpoch ? `, epoch ${job.bestEpoch}` : ''})`,
    ...(job.finalValidationAccuracy === null ? [] : [`  validation       ${percent(job.finalValidationAccuracy)}`]),
    `  final test loss  ${lossText(job.metrics.epochs.at(-1)?.testLoss)}`,
    `  duration         ${duration(job.durationMs)}${job.backend ? ` on ${job.backend}` : ''}`,
  ];
  return lines.join('\n');
}
