/**
 * The flow bench's limit: a plain fastify server with one validated JSON POST (zod, through
 * fastify-type-provider-zod, as the service validates), run as a process of its own like the service.
 * Prints one JSON line `{"url": …}` once listening; runs until SIGTERM.
 */
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

const body = z.object({
  subscriberId: z.string().min(1).max(64),
  smartcardId: z.string().regex(/^\d{8,20}$/),
  msisdn: z.string().regex(/^(\+?86)?1\d{10}$/),
  productId: z.string().min(1).max(64),
  paymentMethod: z.literal('mobile'),
});
const answer = z.object({ accepted: z.literal(true), subscriberId: z.string() });

const app = Fastify({ logger: false });
app.setValidatorCompiler(validatorCompiler);
app.setSerializerCompiler(serializerCompiler);
app
  .withTypeProvider<ZodTypeProvider>()
  .post('/v1/orders', { schema: { body, response: { 201: answer } } }, async (req, reply) =>
    reply.code(201).send({ accepted: true as const, subscriberId: req.body.subscriberId }),
  );
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: address })}\n`);
const stop = (): void => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
