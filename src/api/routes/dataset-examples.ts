import { z } from 'zod';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { DatasetExamples } from '../../datasets/examples.js';
import { isBundledDataset } from '../../domain/datasets.js';
import { renderExample } from '../dataset-images.js';
import type { DatasetsService } from '../datasets-service.js';
import { commonErrors, errorBody } from '../schemas/common.js';
import { exampleParams, exampleQuery } from '../schemas/datasets.js';

/**
 * GET /datasets/:name/examples/...: examples of the datasets the key may see. With `datasets`, an
 * uploaded dataset is checked first, so another owner's is a 404 like a missing one.
 */
export const datasetExampleRoutes: FastifyPluginCallbackZod<{
  examples: DatasetExamples;
  datasets?: Pick<DatasetsService, 'get'>;
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
          'A grey PNG of the example (header X-Example-Label holds its label), `scale` times its size; for instance the test examples /jobs/:id/evaluation lists as mistakes.',
        params: exampleParams,
        querystring: exampleQuery,
        response: {
          200: { description: 'The example', content: { 'image/png': { schema: z.string().describe('A PNG') } } },
          400: errorBody.describe('A bad split, index or scale'),
          404: errorBody.describe(
            "No such dataset (another owner's is as unknown), or the index is past the end of the split",
          ),
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const { name, split, index } = request.params;
      if (datasets && !isBundledDataset(name)) await datasets.get(request.viewer, name);
      const { png, label } = await renderExample(examples, { dataset: name, split, index, scale: request.query.scale });
      return reply
        .type('image/png')
        .header('x-example-label', String(label))
        .header('cache-control', 'public, max-age=86400')
        .send(png as unknown as string);
    },
  );
  done();
};
