// Runs one measurement of the bare training loop (loop.ts) in a fresh process.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetworkName } from './networks.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const node = process.execPath;

export interface LoopResult {
  backend: string;
  network: NetworkName;
  samples: number;
  samplesPerSecond: number;
  wallMs: number;
  testAccuracy: number;
  epochs: { epoch: number; testAccuracy: number; testLoss: number }[];
}

export function runLoop(
  backend: string,
  network: NetworkName,
  samples: number,
  testSamples = 100,
  warmup = 640,
  epochs = 1,
): Promise<LoopResult | null> {
  return new Promise((resolve) => {
    const child = spawn(
      node,
      [
        path.join(here, 'loop.js'),
        backend,
        network,
        String(samples),
        String(testSamples),
        String(warmup),
        String(epochs),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      const line = output.trim().split('\n').at(-1);
      resolve(code === 0 && line ? (JSON.parse(line) as LoopResult) : null);
    });
  });
}

// This machine is noisy: repeated measurements report their median.
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
