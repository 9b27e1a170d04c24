/**
 * The shared memory through which a job's training thread (the main side) borrows an idle thread of
 * the pool (the helper) for its dense steps: a few control words, then the step's exchange areas.
 * Both sides and the pool open the same SharedArrayBuffer with the same shape, so they agree on
 * every offset.
 */

/** The thread lent to the job died during a step: the step cannot finish (a crash, not a training failure). */
export class HelperLost extends Error {
  constructor() {
    super('the helper thread of this job died during a step');
    this.name = 'HelperLost';
  }
}

/** A dense network as the split step sees it. */
export interface SplitShape {
  features: number;
  layers: readonly { units: number; relu: boolean }[];
  maxBatch: number;
}

/** Who holds the helper; only these transitions happen, each by compare-and-swap. */
export const linkStates = {
  /** No helper. The pool may lend one: -> lent. */
  none: 0,
  /** Sent by the pool, not arrived yet: -> idle (it arrives) or none (recalled before). */
  lent: 1,
  /** Arrived, waiting for a step: -> busy (the main side starts a step) or none (recalled). */
  idle: 2,
  /** In a step with the main side: -> idle at its end, or recalling (the pool wants it back). */
  busy: 3,
  /** Recalled during a step: the main side lets it go at the step's end (-> none). */
  recalling: 4,
  /** The job ended: no helper any more. */
  closed: 5,
  /**
   * The helper's thread died during a step (set by the pool): the step, half done, fails at once
   * (`HelperLost`: the attempt counts as crashed, as when the job's own thread dies) instead of
   * waiting out the helper's silence.
   */
  lost: 6,
} as const;

/** Control words (int32 indices). */
export const control = {
  state: 0,
  /** The step the main side last started (1, 2, ...); the helper waits on it. */
  go: 1,
  batch: 2,
  /** How far each side is: step * stagesPerStep + stage. */
  mainProgress: 3,
  helperProgress: 4,
  /** Bumped by every helper that arrives, so the main side knows to publish the weights to it. */
  generation: 5,
  /**
   * Bumped by the main side each time it publishes all the weights (to a new helper, or after steps
   * alone): the helper then copies them all before the step. Between consecutive split steps it
   * copies each layer's as the main side updates it instead.
   */
  weights: 6,
  /**
   * Bumped with every change of `state` or `go`: the helper sleeps on it, so no change between its
   * last look and its sleep goes unnoticed.
   */
  wake: 7,
} as const;
const controlWords = 8;

/** A layer's areas (float32 indices into `floats`). */
export interface LayerAreas {
  fanIn: number;
  units: number;
  relu: boolean;
  /** Rows of the weight gradient the main side computes ([0, splitRow)); the helper does the rest. */
  splitRow: number;
  weights: number;
  bias: number;
  /** Each side's columns of the layer's activated output, [units, its columns]. */
  mainOutput: number;
  helperOutput: number;
  /** Each side's columns of the gradient at the layer's output, [units, its columns]. */
  mainGradient: number;
  helperGradient: number;
  /** The helper's rows of the weight gradient, [fanIn - splitRow, units]. */
  helperWeightGradient: number;
}

export interface LinkLayout {
  inputs: number;
  targets: number;
  layers: LayerAreas[];
  /** Float32 values after the control words. */
  floats: number;
  /** Per-example, per-class loss terms (float64 indices into `terms`), [maxBatch, classes]. */
  terms: number;
}

export function linkLayout({ features, layers, maxBatch }: SplitShape): LinkLayout {
  let at = 0;
  const take = (count: number) => {
    const start = at;
    at += count;
    return start;
  };
  const classes = layers.at(-1)?.units ?? 0;
  const inputs = take(maxBatch * features);
  const targets = take(maxBatch * classes);
  let fanIn = features;
  const areas = layers.map(({ units, relu }) => {
    const splitRow = Math.ceil(fanIn / 2);
    const area: LayerAreas = {
      fanIn,
      units,
      relu,
      splitRow,
      weights: take(fanIn * units),
      bias: take(units),
      mainOutput: take(units * maxBatch),
      helperOutput: take(units * maxBatch),
      mainGradient: take(units * maxBatch),
      helperGradient: take(units * maxBatch),
      helperWeightGradient: take((fanIn - splitRow) * units),
    };
    fanIn = units;
    return area;
  });
  return { inputs, targets, layers: areas, floats: at + (at % 2), terms: maxBatch * classes };
}

/**
 * Stages of a step, numbered in the order each side reaches them (see split-side.ts), so that a side's
 * progress only grows: its layers' outputs, the loss and the top layer's output gradient, then from
 * the top down each layer's input gradient (the output gradient of the layer below), published
 * before that layer's update, then the update.
 */
export function stages(layerCount: number) {
  const L = layerCount;
  return {
    perStep: 3 * L + 2,
    /** Its columns of layer l's output are published (l < L - 1). */
    output: (l: number) => 1 + l,
    /** Its loss terms are written. */
    loss: L,
    /** Its columns of layer l's output gradient are published. */
    gradient: (l: number) => (l === L - 1 ? L + 1 : L + 2 + 2 * (L - 2 - l)),
    /** Helper: its rows of layer l's weight gradient are published. Main: layer l's new weights are. */
    update: (l: number) => (l === 0 ? 3 * L : L + 3 + 2 * (L - 1 - l)),
  };
}

/** One side's view of a link. */
export class HelperLink {
  readonly control: Int32Array;
  readonly floats: Float32Array;
  readonly terms: Float64Array;
  readonly layout: LinkLayout;

  private constructor(
    readonly shape: SplitShape,
    readonly buffer: SharedArrayBuffer,
  ) {
    this.layout = linkLayout(shape);
    this.control = new Int32Array(buffer, 0, controlWords);
    this.floats = new Float32Array(buffer, controlWords * 4, this.layout.floats);
    this.terms = new Float64Array(buffer, controlWords * 4 + this.layout.floats * 4, this.layout.terms);
  }

  static create(shape: SplitShape): HelperLink {
    const layout = linkLayout(shape);
    return new HelperLink(shape, new SharedArrayBuffer(controlWords * 4 + layout.floats * 4 + layout.terms * 8));
  }

  /** The same link as another thread sees it. */
  static open(shape: SplitShape, buffer: SharedArrayBuffer): HelperLink {
    return new HelperLink(shape, buffer);
  }

  state(): number {
    return Atomics.load(this.control, control.state);
  }

  /** Moves the state `from` -> `to` if it is `from`; wakes a helper waiting for a step. True if it moved. */
  move(from: number, to: number): boolean {
    if (Atomics.compareExchange(this.control, control.state, from, to) !== from) return false;
    this.wakeHelper();
    return true;
  }

  /** Pool: marks a helper as sent. False if the link already has one or the job ended. */
  lend(): boolean {
    return this.move(linkStates.none, linkStates.lent);
  }

  /**
   * Pool: asks for the helper back. It leaves at once unless it is in a step, and then at the end of
   * that step: the pool learns it has left from the helper's thread.
   */
  recall(): void {
    for (;;) {
      const state = this.state();
      if (state === linkStates.lent || state === linkStates.idle) {
        if (this.move(state, linkStates.none)) return;
      } else if (state === linkStates.busy) {
        if (this.move(state, linkStates.recalling)) return;
      } else return;
    }
  }

  /**
   * Pool: the lent thread has died. Before it arrived or between steps, the job simply goes on
   * alone; during a step, the main side, which may be waiting for it, is told at once (`lost`).
   */
  helperDied(): void {
    for (;;) {
      const state = this.state();
      if (state === linkStates.lent || state === linkStates.idle) {
        if (this.move(state, linkStates.none)) return;
      } else if (state === linkStates.busy || state === linkStates.recalling) {
        if (!this.move(state, linkStates.lost)) continue;
        Atomics.notify(this.control, control.helperProgress);
        return;
      } else return;
    }
  }

  /** Main side: the job ended; a helper there or on its way leaves. */
  close(): void {
    Atomics.store(this.control, control.state, linkStates.closed);
    this.wakeHelper();
  }

  /** Main side: starts split step `seq`. */
  startStep(seq: number): void {
    Atomics.store(this.control, control.go, seq);
    this.wakeHelper();
  }

  private wakeHelper(): void {
    Atomics.add(this.control, control.wake, 1);
    Atomics.notify(this.control, control.wake);
  }

  /** Publishes this side's progress and wakes the other side if it waits for it. */
  signal(index: number, value: number): void {
    Atomics.store(this.control, index, value);
    Atomics.notify(this.control, index);
  }

  /**
   * Waits until control word `index` is at least `value`: spins for up to SPIN_MS (the other side is
   * usually that close, and waking a sleeping thread costs more on a virtual machine), then sleeps.
   * Throws if the other side has not moved in `timeoutMs`, or at once when the helper's thread died.
   */
  waitFor(index: number, value: number, timeoutMs = 60_000): void {
    if (spinUntil(() => Atomics.load(this.control, index) >= value)) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.control, index);
      if (seen >= value) return;
      if (this.state() === linkStates.lost) throw new HelperLost();
      if (Date.now() > deadline) throw new Error('the helper thread of this job stopped answering');
      Atomics.wait(this.control, index, seen, 1000);
    }
  }
}

const SPIN_MS = 0.05;

/** Polls `done` for up to SPIN_MS; whether it came true. */
export function spinUntil(done: () => boolean): boolean {
  const until = performance.now() + SPIN_MS;
  for (;;) {
    for (let poll = 0; poll < 64; poll++) if (done()) return true;
    if (performance.now() > until) return false;
  }
}
