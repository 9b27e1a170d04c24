import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/api/schemas/common.js';
import { mnistDataDirectory } from '../../src/training/datasets/mnist.js';
import { appWithoutStore } from './app-stand-ins.js';

describe('GET /datasets/:name/examples/:split/:index.png', () => {
  let app: FastifyInstance;
  const get = (url: string) => app.inject({ method: 'GET', url });

  beforeAll(async () => {
    app = appWithoutStore();
    await app.ready();
  });
  afterAll(() => app.close());

  it('renders an MNIST example as a grey PNG of its pixels, with its label', async () => {
    const images = await readFile(path.join(mnistDataDirectory(), 't10k-images-idx3-ubyte'));
    const labels = await readFile(path.join(mnistDataDirectory(), 't10k-labels-idx1-ubyte'));
    for (const index of [0, 1234, 9999]) {
      const response = await get(`/datasets/mnist/examples/test/${index}.png`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('image/png');
      expect(response.headers['x-example-label']).toBe(String(labels[8 + index]));
      const metadata = await sharp(response.rawPayload).metadata();
      expect([metadata.width, metadata.height, metadata.channels]).toEqual([28, 28, 1]);
      const data = await sharp(response.rawPayload).toColourspace('b-w').raw().toBuffer();
      expect(data.equals(images.subarray(16 + index * 784, 16 + (index + 1) * 784))).toBe(true);
    }
  });

  it('scales it up on request, pixel for pixel', async () => {
    const response = await get('/datasets/mnist/examples/train/5.png?scale=8');
    expect(response.statusCode).toBe(200);
    const metadata = await sharp(response.rawPayload).metadata();
    expect([metadata.width, metadata.height]).toEqual([224, 224]);
  });

  it('answers 404 for an unknown dataset or an index past the end of the split', async () => {
    for (const url of ['/datasets/cifar/examples/test/0.png', '/datasets/mnist/examples/test/10000.png']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(404);
      expect(response.json<ErrorBody>().code).toBe('not_found');
    }
    expect((await get('/datasets/mnist/examples/test/10000.png')).json<ErrorBody>().error).toMatch(/0 to 9999/);
  });

  it('answers 400 for a bad split, index or scale', async () => {
    for (const url of [
      '/datasets/mnist/examples/validation/0.png',
      '/datasets/mnist/examples/test/-1.png',
      '/datasets/mnist/examples/test/1e3.png',
      '/datasets/mnist/examples/test/0.png?scale=17',
      '/datasets/mnist/examples/test/0.png?scale=0',
      '/datasets/mnist/examples/test/0.png?size=2',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(400);
    }
  });
});
