import { describe, expect, it } from 'vitest';
import { HelperLink, linkStates, stages } from '../../../src/training/split/helper-link.js';

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
});
