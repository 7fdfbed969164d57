/**
 * The channel packages a subscriber can buy. The operator edits catalog.json;
 * parseCatalog validates it at start and names the first bad field.
 */
import { z } from 'zod';
import { cny, type Money } from './money.ts';

export type Product = {
  productId: string;
  name: string;
  description: string;
  channels: readonly string[];
  price: Money;
  periodDays: number;
};

const productSchema = z.strictObject({
  productId: z.string().regex(/^[a-z0-9][a-z0-9-]{1,63}$/, 'lowercase letters, digits and dashes'),
  name: z.string().min(1).max(80),
  description: z.string().max(500).default(''),
  channels: z.array(z.string().min(1)).min(1),
  priceFen: z.number().int().positive().max(100_000_00),
  periodDays: z.number().int().min(1).max(3660),
});

const catalogSchema = z.strictObject({ products: z.array(productSchema).min(1) }).superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.products.forEach((p, i) => {
    if (seen.has(p.productId)) ctx.addIssue({ code: 'custom', message: `duplicate productId "${p.productId}"`, path: ['products', i, 'productId'] });
    seen.add(p.productId);
  });
});

export type Catalog = { products: readonly Product[]; find(productId: string): Product | undefined };

export class InvalidCatalog extends Error {
  override readonly name = 'InvalidCatalog';
}

export const parseCatalog = (json: unknown): Catalog => {
  const parsed = catalogSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidCatalog(`catalog: ${problems.join('; ')}`);
  }
  const products: Product[] = parsed.data.products.map((p) => ({
    productId: p.productId,
    name: p.name,
    description: p.description,
    channels: p.channels,
    price: cny(p.priceFen),
    periodDays: p.periodDays,
  }));
  const byId = new Map(products.map((p) => [p.productId, p]));
  return { products, find: (productId) => byId.get(productId) };
};
