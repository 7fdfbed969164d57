import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { product } from '../schemas.ts';

export const catalogRoutes = (deps: AppDeps): FastifyPluginAsync => async (app) => {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/products',
    {
      config: { roles: ['open-platform', 'customer-service'] },
      schema: { tags: ['catalog'], summary: 'The purchasable channel packages', response: { 200: z.object({ products: z.array(product) }) } },
    },
    async () => ({ products: [...deps.ledger.catalog.products] }),
  );
};
