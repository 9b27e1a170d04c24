import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { kernelsOn } from '../../../src/training/kernels/training-kernels.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const f = Math.fround;

/** A private heap for the kernels, with float32 arrays placed on it one after another. */
function heap() {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const kernels = kernelsOn(memory);
  let next = 64;
  const place = (values: ArrayLike<number>) => {
    const at = next;
    new Float32Array(memory.buffer, at, values.length).set(values);
    next += Math.ceil((values.length * 4) / 16) * 16 + 16;
    return at;
  };
  const read = (at: number, length: number) => Float32Array.from(new Float32Array(memory.buffer, at, length));
  return { kernels, place, read };
}

function random(length: number, seed: number, low = -1, high = 1): Float32Array {
  let state = seed;
  return Float32Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return low + (state / 2147483648) * (high - low);
  });
}

// Not a multiple of four, so both the four-lane part and the one-by-one rest are checked.
const n = 1027;

describe('the training kernels', () => {
  it('are checked in as training-kernels.wat compiles', async () => {
    await expect(
      promisify(execFile)(process.execPath, ['scripts/build-kernels.mjs', '--check'], { cwd: root }),
    ).resolves.toBeDefined();
  });

  it('update with SGD as tfjs does: (-lr) g + w', () => {
    const { kernels, place, read } = heap();
    const [w, g] = [random(n, 1), random(n, 2)];
    const out = place(new Float32Array(n));
    kernels.sgd(place(w), place(g), out, n, -0.05);
    expect(read(out, n)).toEqual(w.map((value, i) => f(f(f(-0.05) * (g[i] as number)) + value)));
  });

  it('update with momentum as tfjs does, keeping the accumulation', () => {
    const { kernels, place, read } = heap();
    const [w, g, acc] = [random(n, 1), random(n, 2), random(n, 3)];
    const [accAt, out] = [place(acc), place(new Float32Array(n))];
    kernels.momentum(place(w), place(g), accAt, out, n, -0.05, 0.9);
    const expectedAcc = acc.map((value, i) => f(f(f(0.9) * value) + (g[i] as number)));
    expect(read(accAt, n)).toEqual(expectedAcc);
    expect(read(out, n)).toEqual(w.map((value, i) => f(f(f(-0.05) * (expectedAcc[i] as number)) + value)));
  });

  it('update with Adam in one pass: both moments and the bias-corrected step', () => {
    const { kernels, place, read } = heap();
    const [w, g, m, v] = [random(n, 1), random(n, 2), random(n, 3), random(n, 4, 0, 1)];
    const [mAt, vAt, out] = [place(m), place(v), place(new Float32Array(n))];
    const [b1, b2, c1, c2, eps] = [f(0.9), f(0.999), f(1 / (1 - 0.9 ** 3)), f(1 / (1 - 0.999 ** 3)), f(1e-7)];
    kernels.adam(place(w), place(g), mAt, vAt, out, n, -0.001, b1, b2, c1, c2, eps);
    const ms = m.map((value, i) => f(f(value * b1) + f((g[i] as number) * f(1 - b1))));
    const vs = v.map((value, i) => f(f(value * b2) + f(f((g[i] as number) ** 2) * f(1 - b2))));
    expect(read(mAt, n)).toEqual(ms);
    expect(read(vAt, n)).toEqual(vs);
    const step = (i: number) =>
      f(f(f((ms[i] as number) * c1) / f(f(Math.sqrt(f((vs[i] as number) * c2))) + eps)) * f(-0.001));
    expect(read(out, n)).toEqual(w.map((value, i) => f(step(i) + value)));
  });

  it('update with RMSProp as tfjs does, keeping the mean square and the momentum', () => {
    const { kernels, place, read } = heap();
    const [w, g, ms, mom] = [random(n, 1), random(n, 2), random(n, 3, 0, 1), random(n, 4)];
    const [msAt, momAt, out] = [place(ms), place(mom), place(new Float32Array(n))];
    kernels.rmsprop(place(w), place(g), msAt, momAt, out, n, 0.001, 0.9, 0.5, 1e-7);
    const squares = ms.map((value, i) => f(f(value * f(0.9)) + f(f((g[i] as number) ** 2) * f(1 - f(0.9)))));
    const steps = mom.map((value, i) =>
      f(f(value * 0.5) + f(f((g[i] as number) * f(0.001)) / f(Math.sqrt(f((squares[i] as number) + f(1e-7)))))),
    );
    expect(read(msAt, n)).toEqual(squares);
    expect(read(momAt, n)).toEqual(steps);
    expect(read(out, n)).toEqual(w.map((value, i) => f(value - (steps[i] as number))));
  });

  it('transpose matrices of every shape, blocks of four and edges', () => {
    for (const [rows, cols] of [
      [8, 12],
      [7, 5],
      [64, 513],
      [1, 9],
      [10, 3],
    ] as const) {
      const { kernels, place, read } = heap();
      const matrix = random(rows * cols, rows + cols);
      const out = place(new Float32Array(rows * cols));
      kernels.transpose(place(matrix), out, rows, cols);
      const expected = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) expected[c * rows + r] = matrix[r * cols + c] as number;
      expect(read(out, rows * cols), `${rows}x${cols}`).toEqual(expected);
    }
  });

  it('add a bias per row, with and without a ReLU', () => {
    const [rows, cols] = [5, 11];
    for (const relu of [0, 1]) {
      const { kernels, place, read } = heap();
      const [x, bias] = [random(rows * cols, 1), random(rows, 2)];
      const at = place(x);
      kernels.biasRows(at, place(bias), rows, cols, relu);
      const expected = x.map((value, i) => {
        const sum = f(value + (bias[Math.floor(i / cols)] as number));
        return relu ? Math.max(sum, 0) : sum;
      });
      expect(read(at, rows * cols)).toEqual(expected);
    }
  });

  it("pass the gradient where the ReLU's output is positive, and sum rows", () => {
    const { kernels, place, read } = heap();
    const [d, a] = [random(n, 1), random(n, 2)];
    const at = place(d);
    kernels.reluGradient(at, place(a), n);
    expect(read(at, n)).toEqual(d.map((value, i) => ((a[i] as number) > 0 ? value : 0)));
    const [rows, cols] = [3, 67];
    const x = random(rows * cols, 3);
    const sums = place(new Float32Array(rows));
    kernels.rowSums(place(x), sums, rows, cols);
    const expected = [0, 1, 2].map((r) => x.subarray(r * cols, (r + 1) * cols).reduce((sum, value) => sum + value, 0));
    read(sums, rows).forEach((sum, r) => expect(sum).toBeCloseTo(expected[r] as number, 5));
  });
});
