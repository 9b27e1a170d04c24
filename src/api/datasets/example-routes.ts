import { z } from 'zod';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { DatasetExamples } from '../../datasets/examples/examples.js';
import { isBundledDataset } from '../../domain/datasets.js';
import { renderExample } from './dataset-images.js';
import type { DatasetsService } from './datasets-service.js';
import { commonErrors, errorBody } from '../http/common-schemas.js';
import { exampleParams, exampleQuery } from './schemas.js';

/**
 * GET /datasets/:name/examples/...: examples of the datasets the key may see: bundled ones from
 * `examples`, uploaded ones (with `datasets`) from their stored form, another owner's a 404 like a
 * missing one.
 */
export const datasetExampleRoutes: FastifyPluginCallbackZod<{
  examples: DatasetExamples;
  datasets?: Pick<DatasetsService, 'example'>;
}> = (app, { examples, datasets }, done) => {
  app.get(
    '/datasets/:name/examples/:split/:index.png',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getDatasetExample',
        tags: ['datasets'],
        summary: 'Look at one example of a dataset',
        description:
          'A PNG of the example (header X-Example-Label holds its label), `scale` times its size; for instance the test examples /jobs/:id/evaluation lists as mistakes. Images are grey, or in colour when examples are [height, width, 3]; CSV values are drawn from the lowest of the training features (black) to the highest (white). A scale that would make the picture larger than 4096x4096 pixels is reduced to fit.',
        params: exampleParams,
        querystring: exampleQuery,
        response: {
          200: { description: 'The example', content: { 'image/png': { schema: z.string().describe('A PNG') } } },
          400: errorBody.describe('A bad split, index or scale, or an example too large to draw'),
          404: errorBody.describe(
            "No such dataset (another owner's is as unknown), or the index is past the end of the split",
          ),
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const { name, split, index } = request.params;
      const uploaded = datasets !== undefined && !isBundledDataset(name);
      const found = uploaded
        ? await datasets.example(request.viewer, name, split, index)
        : await examples.example(name, split, index);
      const { png, label } = await renderExample(found, { dataset: name, split, index, scale: request.query.scale });
      return (
        reply
          .type('image/png')
          .header('x-example-label', String(label))
          // An uploaded dataset is its owner's, and its name may later be another upload's.
          .header('cache-control', uploaded ? 'private, max-age=300' : 'public, max-age=86400')
          .send(png as unknown as string)
      );
    },
  );
  done();
};
