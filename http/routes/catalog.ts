/** What can be bought. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Catalog } from '../../domain/catalog.ts';
import { product } from '../schemas.ts';

export const catalogRoutes: FastifyPluginAsyncZod<{ catalog: Catalog }> = async (app, { catalog }) => {
  app.get(
    '/v1/products',
    {
      config: { roles: ['open-platform', 'customer-service'] },
      schema: {
        operationId: 'listProducts',
        tags: ['catalog'],
        summary: 'The purchasable channel packages',
        description: 'The catalog (CATALOG_FILE), prices in fen.',
        response: { 200: z.object({ products: z.array(product) }) },
      },
    },
    async () => ({ products: [...catalog.products] }),
  );
};
