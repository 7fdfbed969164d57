import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

/** Asserts an answer's status (with its body in the message when it is another) and its whole JSON body. */
export const expectAnswer = (res: LightMyRequestResponse, status: number, body: unknown): void => {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json()).toEqual(body);
};
