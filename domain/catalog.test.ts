import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidCatalog, parseCatalog } from './catalog.ts';

const shipped: unknown = JSON.parse(readFileSync(new URL('../catalog.json', import.meta.url), 'utf8'));

const good = {
  productId: 'sports-month',
  name: 'Sports (1 month)',
  description: 'Live football.',
  channels: ['CCTV-5 HD'],
  priceFen: 3800,
  periodDays: 30,
};
const withProducts = (...products: object[]) => ({ products });
const without = (key: keyof typeof good): object => Object.fromEntries(Object.entries(good).filter(([k]) => k !== key));

/** The message parseCatalog throws for this input (fails the test if it does not throw InvalidCatalog). */
const errorFor = (json: unknown): string => {
  try {
    parseCatalog(json);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCatalog);
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('parseCatalog accepted an invalid catalog');
};

describe('the shipped catalog.json', () => {
  const catalog = parseCatalog(shipped);

  it('has at least 6 products with unique ids', () => {
    expect(catalog.products.length).toBeGreaterThanOrEqual(6);
    expect(new Set(catalog.products.map((p) => p.productId)).size).toBe(catalog.products.length);
  });

  it('prices every product in positive integer fen, CNY', () => {
    for (const p of catalog.products) {
      expect(Number.isSafeInteger(p.price.value), p.productId).toBe(true);
      expect(p.price.value).toBeGreaterThan(0);
      expect(p.price.currency).toBe('CNY');
      expect(p.channels.length).toBeGreaterThan(0);
    }
  });

  it('finds a product by id, and nothing for an unknown id', () => {
    expect(catalog.find('sports-month')).toMatchObject({ productId: 'sports-month', price: { value: 3800, currency: 'CNY' }, periodDays: 30 });
    expect(catalog.find('no-such-product')).toBeUndefined();
  });
});

describe('parseCatalog', () => {
  it('turns priceFen into Money and defaults the description to empty', () => {
    const catalog = parseCatalog(withProducts(without('description')));
    expect(catalog.products).toEqual([
      {
        productId: 'sports-month',
        name: 'Sports (1 month)',
        description: '',
        channels: ['CCTV-5 HD'],
        price: { value: 3800, currency: 'CNY' },
        periodDays: 30,
      },
    ]);
  });

  it('a product without a name: names products.0.name', () => {
    expect(errorFor(withProducts(without('name')))).toMatch(/^catalog: products\.0\.name: /);
  });

  it('a price in yuan with decimals: names the priceFen field', () => {
    expect(errorFor(withProducts(good, { ...good, productId: 'kids', priceFen: 38.5 }))).toMatch(/^catalog: products\.1\.priceFen: /);
  });

  it.each([0, -100, '3800'])('a price of %j: names the priceFen field', (priceFen) => {
    expect(errorFor(withProducts({ ...good, priceFen }))).toMatch(/products\.0\.priceFen/);
  });

  it('a duplicate productId: names the duplicate and where it is', () => {
    expect(errorFor(withProducts(good, { ...good, name: 'again' }))).toMatch(
      new RegExp(`^catalog: products\\.1\\.productId: duplicate productId "${good.productId}"`),
    );
  });

  it('an unknown field: names the product and the field', () => {
    expect(errorFor(withProducts({ ...good, colour: 'red' }))).toMatch(/^catalog: products\.0: .*"colour"/);
  });

  it('a typo for priceFen ("price"): names the missing priceFen', () => {
    expect(errorFor(withProducts({ ...without('priceFen'), price: 3800 }))).toMatch(/^catalog: products\.0\.priceFen: /);
  });

  it('an unknown top-level field: names it', () => {
    expect(errorFor({ products: [good], currency: 'CNY' })).toMatch(/currency/);
  });

  it('an empty product list: names products', () => {
    expect(errorFor(withProducts())).toMatch(/^catalog: products: /);
  });

  it.each([null, [], 'products'])('not an object (%j): says (root)', (json) => {
    expect(errorFor(json)).toMatch(/^catalog: \(root\): /);
  });

  it('a productId that is not lowercase-dashed: names products.0.productId', () => {
    expect(errorFor(withProducts({ ...good, productId: 'Sports Month' }))).toMatch(/products\.0\.productId: lowercase letters, digits and dashes/);
  });

  it('a product with no channels: names products.0.channels', () => {
    expect(errorFor(withProducts({ ...good, channels: [] }))).toMatch(/products\.0\.channels/);
  });
});
