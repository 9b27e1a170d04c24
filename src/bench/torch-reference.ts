// PyTorch on one thread as the reference a benchmark compares with, when /usr/bin/python3 has torch
// (Debian: `apt-get install python3-torch`, and `libopenblas0-pthread`, without which Debian's torch
// multiplies dense layers with the reference BLAS, about 10x slower). The network is built from the
// same layer specs.
import { spawn } from 'node:child_process';
import type { JobSpecInput, OptimizerName } from '../domain/job-spec.js';

export interface TorchRun {
  /** As a spec gives them; fields left out take the spec's defaults. */
  layers: readonly JobSpecInput['model']['layers'][number][];
  /** [height, width, channels] for image layers, [features] otherwise. */
  inputShape: readonly number[];
  optimizer: OptimizerName;
  learningRate: number;
  batchSize: number;
}

export interface TorchSpeed {
  samplesPerSecond: number;
  /** Per second of the Python process's CPU time. */
  samplesPerCpuSecond: number;
  version: string;
  /** The BLAS the process loaded: Debian's torch calls whichever libblas is installed. */
  blas?: 'openblas' | 'reference' | 'other';
}

// Random inputs: speed does not depend on the values. Lazy layers take their input sizes from a
// first forward pass, before the optimizer sees the parameters.
const script = `
import json, sys, time, torch
from torch import nn
run = json.loads(sys.argv[1])
torch.set_num_threads(1)
torch.manual_seed(1)
def pair(v): return tuple(v) if isinstance(v, list) else (v, v)
act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
modules = []
for layer in run["layers"]:
    kind = layer["type"]
    if kind == "dense":
        modules.append(nn.LazyLinear(layer["units"]))
    elif kind == "conv2d":
        modules.append(nn.LazyConv2d(layer["filters"], pair(layer["kernelSize"]), stride=pair(layer.get("strides", 1)), padding=layer.get("padding", "valid")))
    elif kind == "maxPool2d":
        modules.append(nn.MaxPool2d(pair(layer["poolSize"]), stride=pair(layer.get("strides") or layer["poolSize"])))
    elif kind == "avgPool2d":
        modules.append(nn.AvgPool2d(pair(layer["poolSize"]), stride=pair(layer.get("strides") or layer["poolSize"])))
    elif kind == "flatten":
        modules.append(nn.Flatten())
    elif kind == "dropout":
        modules.append(nn.Dropout(layer["rate"]))
    if layer.get("activation") in act:
        modules.append(act[layer["activation"]]())
model = nn.Sequential(*modules)
shape = run["inputShape"]
batch = run["batchSize"]
x = torch.randn(batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else torch.randn(batch, shape[0])
model(x)
lr = run["learningRate"]
optimizer = {"sgd": lambda p: torch.optim.SGD(p, lr=lr), "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9),
             "adam": lambda p: torch.optim.Adam(p, lr=lr), "rmsprop": lambda p: torch.optim.RMSprop(p, lr=lr)}[run["optimizer"]](model.parameters())
loss_fn = nn.CrossEntropyLoss()
y = torch.randint(0, 10, (batch,))
def step():
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()
for _ in range(10): step()
rates, cpu_rates = [], []
for _ in range(5):
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(30): step()
    rates.append(30 * batch / (time.perf_counter() - start))
    cpu_rates.append(30 * batch / (time.process_time() - cpu))
rates.sort()
cpu_rates.sort()
maps = open("/proc/self/maps").read()
blas = "openblas" if "openblas" in maps else "reference" if "/blas/libblas" in maps else "other"
print(json.dumps({"samplesPerSecond": rates[2], "samplesPerCpuSecond": cpu_rates[2], "version": torch.__version__, "blas": blas}))
`;

let warned = false;
function warnReferenceBlas(): void {
  if (warned) return;
  warned = true;
  console.warn(
    'PyTorch multiplies with the reference BLAS here, some 15x slower than it can: install libopenblas0-pthread for a fair reference',
  );
}

/** PyTorch's samples/s on one thread (median of 5 rounds, by wall and CPU time), or undefined when /usr/bin/python3 cannot import torch. */
export function measureTorch(run: TorchRun): Promise<TorchSpeed | undefined> {
  return new Promise((resolve) => {
    // One thread in every library PyTorch may use: its own (set_num_threads), OpenMP's and the BLAS's
    // (Debian's torch calls whichever libblas is installed, OpenBLAS with libopenblas0-pthread).
    const oneThread = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    const child = spawn('/usr/bin/python3', ['-c', script, JSON.stringify(run)], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, ...oneThread },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', () => resolve(undefined));
    child.on('exit', (code) => {
      const line = output.trim().split('\n').at(-1);
      const speed = code === 0 && line ? (JSON.parse(line) as TorchSpeed) : undefined;
      if (speed?.blas === 'reference') warnReferenceBlas();
      resolve(speed);
    });
  });
}
