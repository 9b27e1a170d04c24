import type { WasmBackendInternals } from './wasm-heap.js';

/**
 * out [rows, columns] = a [rows, inner] . b [inner, columns] on XNNPACK, all three byte offsets on
 * the wasm heap; `shapes` is a scratch of 6 int32 there. `b` goes under an id of its own for this
 * call only, so the operator XNNPACK makes (and caches by that id) goes when it does.
 *
 * XNNPACK computes every output element with the same arithmetic (its dot product over `inner`, in
 * order) whatever the number of rows and columns, so a product split by output rows or columns gives
 * the same bits as the whole one; a split over `inner` would not. src/training/split relies on it.
 */
export function heapProduct(
  backend: WasmBackendInternals,
  shapes: number,
  a: number,
  [rows, inner]: [number, number],
  b: number,
  columns: number,
  out: number,
): void {
  const { wasm } = backend;
  const ids = [a, b, out].map((pointer) => {
    const id = backend.dataIdNextNumber++;
    wasm.tfjs.registerTensor(id, 0, pointer);
    return id;
  });
  const dims = new Int32Array(wasm.HEAPF32.buffer, shapes, 6);
  dims.set([1, rows, inner, 1, inner, columns]);
  try {
    wasm._BatchMatMul(ids[0] ?? 0, shapes, 3, ids[1] ?? 0, shapes + 12, 3, 0, 0, ids[2] ?? 0);
  } finally {
    for (const id of ids) wasm.tfjs.disposeData(id);
  }
}
