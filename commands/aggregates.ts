/** The deciders, packaged for the command loop: stream naming, folding, and reading events back. */
import { decideOrder, type OrderCommand } from '../domain/order/decide.ts';
import { evolveOrder, initialOrder, orderStream, readOrderEvent, type Order, type OrderEvent } from '../domain/order/order.ts';
import { decidePayment, type PaymentCommand } from '../domain/payment/decide.ts';
import { evolvePayment, initialPayment, paymentStream, readPaymentEvent, type Payment, type PaymentEvent } from '../domain/payment/payment.ts';
import { decideSubscriber, type SubscriberCommand } from '../domain/subscriber/decide.ts';
import {
  evolveSubscriber,
  initialSubscriber,
  readSubscriberEvent,
  subscriberStream,
  type Subscriber,
  type SubscriberEvent,
} from '../domain/subscriber/subscriber.ts';
import type { NewEvent } from '../stores/event-store.ts';

/** Any stored event: what was appended, or what is read back. */
export type StoredEvent = Pick<NewEvent, 'type' | 'data'>;

export type DomainEvent = { type: string; data: object };

export type Aggregate<S, C, E extends DomainEvent> = {
  name: string;
  streamOf: (cmd: C) => string;
  initialState: S;
  evolve: (state: S, event: E) => S;
  decide: (cmd: C, state: S) => E[];
  /** The stored event as this aggregate's event, or undefined for a type it does not know. */
  read: (event: StoredEvent) => E | undefined;
};

export const orderAggregate: Aggregate<Order, OrderCommand, OrderEvent> = {
  name: 'order',
  streamOf: (cmd) => orderStream(cmd.orderId),
  initialState: initialOrder,
  evolve: evolveOrder,
  decide: decideOrder,
  read: readOrderEvent,
};

export const paymentAggregate: Aggregate<Payment, PaymentCommand, PaymentEvent> = {
  name: 'payment',
  streamOf: (cmd) => paymentStream(cmd.paymentId),
  initialState: initialPayment,
  evolve: evolvePayment,
  decide: decidePayment,
  read: readPaymentEvent,
};

export const subscriberAggregate: Aggregate<Subscriber, SubscriberCommand, SubscriberEvent> = {
  name: 'subscriber',
  streamOf: (cmd) => subscriberStream(cmd.subscriberId),
  initialState: initialSubscriber,
  evolve: evolveSubscriber,
  decide: decideSubscriber,
  read: readSubscriberEvent,
};
