import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { control, HelperLink, linkStates, stages } from '../../../src/training/split/helper-link.js';

/** A side's stages in the order split-side.ts reaches them. */
function order(layerCount: number): number[] {
  const stage = stages(layerCount);
  const reached = [...Array.from({ length: layerCount - 1 }, (_, l) => stage.output(l)), stage.loss];
  reached.push(stage.gradient(layerCount - 1));
  for (let l = layerCount - 1; l >= 0; l--) {
    if (l > 0) reached.push(stage.gradient(l - 1));
    reached.push(stage.update(l));
  }
  return reached;
}

describe('the helper link', () => {
  it("numbers a step's stages so that each side's progress only grows, within the step", () => {
    for (let layers = 1; layers <= 7; layers++) {
      const reached = order(layers);
      reached.forEach((value, index) => {
        if (index > 0) expect(value, `${layers} layers, stage ${index}`).toBeGreaterThan(reached[index - 1] as number);
      });
      expect(reached[0]).toBeGreaterThan(0);
      expect(reached.at(-1)).toBeLessThan(stages(layers).perStep);
    }
  });

  it('lends, recalls and closes only from the states that allow it', () => {
    const link = HelperLink.create({ features: 4, layers: [{ units: 3, relu: false }], maxBatch: 8 });
    expect(link.lend()).toBe(true);
    expect(link.lend()).toBe(false);
    link.recall();
    expect(link.state()).toBe(linkStates.none);
    expect(link.lend()).toBe(true);
    expect(link.move(linkStates.lent, linkStates.idle)).toBe(true);
    expect(link.move(linkStates.idle, linkStates.busy)).toBe(true);
    // Recalled during a step: the main side lets it go at the step's end.
    link.recall();
    expect(link.state()).toBe(linkStates.recalling);
    expect(link.move(linkStates.busy, linkStates.idle)).toBe(false);
    link.close();
    expect(link.lend()).toBe(false);
    link.recall();
    expect(link.state()).toBe(linkStates.closed);
  });

  it('tells a main side waiting in a step at once when the helper died, and lets a helper between steps go', async () => {
    const shape = { features: 4, layers: [{ units: 3, relu: false }], maxBatch: 8 };
    const inStep = (link: HelperLink) =>
      link.lend() && link.move(linkStates.lent, linkStates.idle) && link.move(linkStates.idle, linkStates.busy);
    const between = HelperLink.create(shape);
    expect(between.lend()).toBe(true);
    between.helperDied();
    expect(between.state()).toBe(linkStates.none);
    const during = HelperLink.create(shape);
    expect(inStep(during)).toBe(true);
    during.helperDied();
    expect(during.state()).toBe(linkStates.lost);
    expect(() => during.waitFor(control.helperProgress, 5)).toThrow('the helper thread of this job died during a step');

    // Already waiting: another thread does what helperDied does 100 ms into the wait, and wakes it.
    const link = HelperLink.create(shape);
    expect(inStep(link)).toBe(true);
    const pool = new Worker(
      `const { workerData } = require('node:worker_threads');
       setTimeout(() => {
         const words = new Int32Array(workerData, 0, 8);
         Atomics.compareExchange(words, ${control.state}, ${linkStates.busy}, ${linkStates.lost});
         Atomics.notify(words, ${control.helperProgress});
       }, 100);`,
      { eval: true, workerData: link.buffer },
    );
    try {
      const started = Date.now();
      expect(() => link.waitFor(control.helperProgress, 5, 20_000)).toThrow(
        'the helper thread of this job died during a step',
      );
      // Long before the 20 s the wait would otherwise give the helper.
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await pool.terminate();
    }
  });
});
