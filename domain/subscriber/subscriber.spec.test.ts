/**
 * The erasure rule, given / when / then: who can be erased, when it is refused, and when it is already so.
 */
import { describe, expect, it } from 'vitest';
import { spec } from '../../test/support/given.ts';
import { SubscriberHasOrdersInFlight, SubscriberNotFound } from '../errors.ts';
import { decideSubscriber, type EraseSubscriber } from './decide.ts';
import { evolveSubscriber, initialSubscriber, readSubscriberEvent, type SubscriberEvent } from './subscriber.ts';

const subscriber = spec({ decide: decideSubscriber, evolve: evolveSubscriber, initialState: initialSubscriber });

const T0 = new Date('2026-11-25T08:00:00.000Z');
const admin = { role: 'admin', client: 'admin-1', name: 'auditor' };

const erase = (over: Partial<EraseSubscriber> = {}): EraseSubscriber => ({
  type: 'EraseSubscriber',
  subscriberId: 'sub-1',
  reason: 'request',
  known: true,
  inFlight: [],
  keyIds: ['k1'],
  by: admin,
  now: T0,
  ...over,
});

const erased = (keyIds: string[], at = T0, reason: 'request' | 'retention' = 'request'): SubscriberEvent => ({
  type: 'SubscriberErased',
  data: { subscriberId: 'sub-1', reason, keyIds, by: admin, at: at.toISOString() },
});

describe('EraseSubscriber', () => {
  it('a subscriber with orders, none in flight: SubscriberErased naming the keys to destroy', () => {
    subscriber
      .given()
      .when(erase())
      .then(erased(['k1']));
  });

  it('by the retention task: the reason says so', () => {
    subscriber
      .given()
      .when(erase({ reason: 'retention', by: { role: 'system', client: 'pii-retention' } }))
      .then({
        type: 'SubscriberErased',
        data: { subscriberId: 'sub-1', reason: 'retention', keyIds: ['k1'], by: { role: 'system', client: 'pii-retention' }, at: T0.toISOString() },
      });
  });

  it('numbers only in plain text (events written before sealing), no key: still erased, with no key to destroy', () => {
    subscriber
      .given()
      .when(erase({ keyIds: [] }))
      .then(erased([]));
  });

  it('already erased, nothing sealed since: already so', () => {
    subscriber
      .given(erased(['k1']))
      .when(erase({ keyIds: [] }))
      .thenNothing();
    // The key may still be listed as the current one until the destroy step ran: it is not new.
    subscriber
      .given(erased(['k1']))
      .when(erase({ keyIds: ['k1'] }))
      .thenNothing();
  });

  it('erased, then ordered again (a new key): erased again, naming only the new key', () => {
    subscriber
      .given(erased(['k1']))
      .when(erase({ keyIds: ['k2'], now: new Date(T0.getTime() + 1000) }))
      .then(erased(['k2'], new Date(T0.getTime() + 1000)));
  });

  it('never ordered: SubscriberNotFound (404)', () => {
    subscriber
      .given()
      .when(erase({ known: false, keyIds: [] }))
      .thenThrows(SubscriberNotFound, { subscriberId: 'sub-1' });
  });

  it('an order in flight: refused, naming how many and which (409)', () => {
    subscriber
      .given()
      .when(erase({ inFlight: ['o1', 'o2'] }))
      .thenThrows(SubscriberHasOrdersInFlight, { subscriberId: 'sub-1', ordersInFlight: 2, orderIds: 'o1,o2' });
  });

  it('erased before, a new order in flight now: refused too', () => {
    subscriber
      .given(erased(['k1']))
      .when(erase({ inFlight: ['o3'], keyIds: ['k2'] }))
      .thenThrows(SubscriberHasOrdersInFlight);
  });
});

describe('evolve and read', () => {
  it('every erasure adds its keys to those destroyed; the last one dates the state', () => {
    const later = new Date(T0.getTime() + 60_000);
    expect(subscriber.given(erased(['k1']), erased(['k2'], later, 'retention')).state).toEqual({
      status: 'erased',
      subscriberId: 'sub-1',
      erasedAt: later.toISOString(),
      reason: 'retention',
      keyIds: ['k1', 'k2'],
    });
  });

  it('reads SubscriberErased back from a stored event; other types are not the subscriber’s', () => {
    const e = erased(['k1']);
    expect(readSubscriberEvent({ type: e.type, data: e.data })).toEqual(e);
    expect(readSubscriberEvent({ type: 'OrderPlaced', data: {} })).toBeUndefined();
  });
});
