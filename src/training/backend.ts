import * as tf from '@tensorflow/tfjs';
import { installWasmFastPath, registerMissingWasmKernels } from './wasm-fast-path.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

// A variable keeps TypeScript from resolving the optional package at build time:
// it is absent wherever its install script could not download libtensorflow.
const nativePackage = '@tensorflow/tfjs-node';

async function tryNative(): Promise<boolean> {
  try {
    await import(nativePackage);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(fastPath: boolean): Promise<boolean> {
  try {
    const { version_wasm: wasmVersion } = await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return false;
    // On an unexpected tfjs version this warns and leaves the stock kernels, which are correct.
    if (fastPath) installWasmFastPath(tf, wasmVersion);
    // Without it (another tfjs release, or a benchmark of the stock kernels) convolutions still need a filter gradient.
    registerMissingWasmKernels(tf);
    return true;
  } catch {
    return false;
  }
}

let chosen: Promise<BackendName> | undefined;

/**
 * Picks the fastest backend that loads (native TensorFlow, then WebAssembly, then plain JS),
 * once per thread. A preference other than `auto` must load or this rejects.
 */
export function selectBackend(
  preference: BackendPreference = 'auto',
  options: { wasmFastPath?: boolean } = {},
): Promise<BackendName> {
  chosen ??= (async () => {
    // Production mode skips tfjs's debug checks and its console advice to install tfjs-node.
    tf.enableProdMode();
    const order: BackendName[] = preference === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [preference];
    for (const name of order) {
      if (name === 'tensorflow' && (await tryNative())) return name;
      // The fast path is always on in service; benchmarks turn it off to measure the stock kernels.
      if (name === 'wasm' && (await tryWasm(options.wasmFastPath ?? true))) return name;
      if (name === 'cpu' && (await tf.setBackend('cpu'))) return name;
    }
    throw new Error(`training backend "${preference}" could not be loaded`);
  })();
  return chosen;
}
