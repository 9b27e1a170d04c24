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
      // past one tile of 64 rows by 8 columns, and not a whole number of them either way
      [130, 21],
      [67, 17],
      [256, 12],
      [1024, 40],
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

/** A window geometry with padding on both sides, strides that differ, and channels past a multiple of four. */
const geometry = {
  batch: 2,
  inHeight: 7,
  inWidth: 6,
  channels: 6,
  windowHeight: 3,
  windowWidth: 2,
  strideHeight: 2,
  strideWidth: 1,
  padTop: 1,
  padLeft: 1,
  outHeight: 4,
  outWidth: 6,
};
type Geometry = typeof geometry;
const geometryArguments = (g: Geometry) =>
  [
    g.batch,
    g.inHeight,
    g.inWidth,
    g.channels,
    g.outHeight,
    g.outWidth,
    g.windowHeight,
    g.windowWidth,
    g.strideHeight,
    g.strideWidth,
    g.padTop,
    g.padLeft,
  ] as const;

/** Calls `visit(output index, tap index within the window, input index or -1 in the padding)` for every tap of every window. */
function forEachTap(g: Geometry, visit: (output: number, tap: number, input: number) => void): void {
  let output = 0;
  for (let b = 0; b < g.batch; b++)
    for (let oy = 0; oy < g.outHeight; oy++)
      for (let ox = 0; ox < g.outWidth; ox++, output++)
        for (let ky = 0; ky < g.windowHeight; ky++)
          for (let kx = 0; kx < g.windowWidth; kx++) {
            const [iy, ix] = [oy * g.strideHeight - g.padTop + ky, ox * g.strideWidth - g.padLeft + kx];
            const inside = iy >= 0 && iy < g.inHeight && ix >= 0 && ix < g.inWidth;
            visit(output, ky * g.windowWidth + kx, inside ? ((b * g.inHeight + iy) * g.inWidth + ix) * g.channels : -1);
          }
}

describe('the window kernels', () => {
  const g = geometry;
  const inputLength = g.batch * g.inHeight * g.inWidth * g.channels;
  const outputs = g.batch * g.outHeight * g.outWidth;
  const rowLength = g.windowHeight * g.windowWidth * g.channels;

  it('unfold each window into a row, zeros in the padding (im2col)', () => {
    const { kernels, place, read } = heap();
    const x = random(inputLength, 5);
    const cols = place(new Float32Array(outputs * rowLength).fill(7));
    kernels.unfoldWindows(place(x), cols, ...geometryArguments(g));
    const expected = new Float32Array(outputs * rowLength);
    forEachTap(g, (output, tap, input) => {
      for (let c = 0; c < g.channels; c++)
        expected[output * rowLength + tap * g.channels + c] = input < 0 ? 0 : (x[input + c] as number);
    });
    expect(read(cols, outputs * rowLength)).toEqual(expected);
  });

  it('fold rows back onto the inputs their windows cover, adding in row order (col2im)', () => {
    const { kernels, place, read } = heap();
    const cols = random(outputs * rowLength, 6);
    const dx = place(new Float32Array(inputLength).fill(7));
    kernels.foldWindows(place(cols), dx, ...geometryArguments(g));
    const expected = new Float32Array(inputLength);
    forEachTap(g, (output, tap, input) => {
      if (input < 0) return;
      for (let c = 0; c < g.channels; c++)
        expected[input + c] = f(
          (expected[input + c] as number) + (cols[output * rowLength + tap * g.channels + c] as number),
        );
    });
    expect(read(dx, inputLength)).toEqual(expected);
  });

  // Overlapping windows with padding, six channels (four lanes and two alone); and windows tiling the
  // input, eight channels, which write dx once.
  for (const [name, pool] of [
    ['overlapping', { ...g, windowHeight: 3, windowWidth: 3, strideHeight: 2, strideWidth: 2, outWidth: 3 }],
    [
      'tiling',
      {
        ...g,
        ...{ inHeight: 8, channels: 8, windowHeight: 2, windowWidth: 2, strideHeight: 2, strideWidth: 2 },
        ...{ padTop: 0, padLeft: 0, outWidth: 3 },
      },
    ],
  ] as const) {
    it(`pass each pool output's gradient to the first largest input of its window, ties and NaN included (${name})`, () => {
      const { kernels, place, read } = heap();
      const length = pool.batch * pool.inHeight * pool.inWidth * pool.channels;
      // Few distinct values, so that windows hold ties; a NaN and a -Infinity, which never win.
      const x = random(length, 7).map((value) => Math.round(value * 2));
      x[9] = NaN;
      x[40] = -Infinity;
      const poolOutputs = pool.batch * pool.outHeight * pool.outWidth;
      const dy = random(poolOutputs * pool.channels, 8);
      // A -0 gradient lands as +0, as it does added to a cleared dx.
      dy[1] = -0;
      const dx = place(new Float32Array(length).fill(7));
      kernels.maxPoolGradient(place(x), place(dy), dx, ...geometryArguments(pool));
      const expected = new Float32Array(length);
      const best = new Map<number, { value: number; at: number }>();
      forEachTap(pool, (output, _tap, input) => {
        if (input < 0) return;
        for (let c = 0; c < pool.channels; c++) {
          const key = output * pool.channels + c;
          const current = best.get(key) ?? { value: -Infinity, at: -1 };
          if ((x[input + c] as number) > current.value) best.set(key, { value: x[input + c] as number, at: input + c });
        }
      });
      for (let key = 0; key < poolOutputs * pool.channels; key++) {
        const at = best.get(key)?.at ?? -1;
        if (at >= 0) expected[at] = f((expected[at] as number) + (dy[key] as number));
      }
      expect(read(dx, length)).toEqual(expected);
    });
  }

  it('add a bias to each row of channels', () => {
    const { kernels, place, read } = heap();
    const [rows, cols] = [9, 7];
    const [x, bias] = [random(rows * cols, 12), random(cols, 13)];
    const out = place(new Float32Array(rows * cols));
    kernels.addChannels(place(x), place(bias), out, rows, cols);
    expect(read(out, rows * cols)).toEqual(x.map((value, i) => f(value + (bias[i % cols] as number))));
  });

  it('sum columns in float64, rounding once (a bias gradient)', () => {
    const { kernels, place, read } = heap();
    const [rows, cols] = [1000, 7];
    const x = random(rows * cols, 9, -1e3, 1e3);
    const out = place(new Float32Array(cols));
    kernels.columnSums(place(x), out, rows, cols, place(new Float32Array(2 * cols)));
    const sums = new Float64Array(cols);
    x.forEach((value, i) => (sums[i % cols] = (sums[i % cols] as number) + value));
    expect(read(out, cols)).toEqual(Float32Array.from(sums));
  });

  // Twenty filters: a block of sixteen and one of four, a channel at a time. Thirty-two: two blocks of
  // sixteen, two channels at a time, and with three channels the third alone.
  for (const [filters, channels] of [
    [20, 6],
    [32, 6],
    [32, 3],
  ] as const) {
    it(`compute a convolution's filter gradient from its input and output gradient, ${filters} filters on ${channels} channels`, () => {
      const { kernels, place, read } = heap();
      const shape = { ...g, channels };
      const length = (rowLength / g.channels) * channels;
      const x = random(inputLength, 10);
      const dy = random(outputs * filters, 11);
      const dw = place(new Float32Array(length * filters).fill(7));
      kernels.filterGradient(place(x), place(dy), dw, ...geometryArguments(shape), filters);
      const expected = new Float64Array(length * filters);
      forEachTap(shape, (output, tap, input) => {
        if (input < 0) return;
        for (let c = 0; c < channels; c++)
          for (let n = 0; n < filters; n++) {
            const at = (tap * channels + c) * filters + n;
            expected[at] = (expected[at] as number) + (x[input + c] as number) * (dy[output * filters + n] as number);
          }
      });
      const actual = read(dw, length * filters);
      const scale = Math.max(...expected.map(Math.abs));
      expected.forEach((value, i) => expect(Math.abs((actual[i] as number) - value) / scale).toBeLessThan(1e-6));
    });
  }
});
