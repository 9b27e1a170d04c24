import { trainingKernels } from '../kernels/training-kernels.js';
import { wasmBackend } from '../wasm-heap.js';
import { linkStates, type HelperLink } from './helper-link.js';
import { HelperSplit } from './split-helper.js';

/**
 * Helps the job on `link` with its steps, on this thread's wasm heap, until the pool recalls this
 * thread or the job ends. Returns at once off the wasm backend (leaving the link as it found it, but
 * for a lent state, which it gives back).
 */
export function helpWith(link: HelperLink): void {
  const backend = wasmBackend();
  const kernels = trainingKernels();
  if (!backend || !kernels) {
    link.move(linkStates.lent, linkStates.none);
    return;
  }
  const helper = new HelperSplit(backend, kernels, link);
  try {
    helper.run();
  } finally {
    helper.dispose();
  }
}
