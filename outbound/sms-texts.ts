/** The texts of the messages to the phone and to the TV (patent claim 3: order details to both). */
import { formatMoney, type Money } from '../domain/money.ts';

const BRAND = '【有线电视】';
const day = (iso: string): string => iso.slice(0, 10);

export const smsTexts = {
  code: (p: { subject: string; amount: Money; code: string; ttlMinutes: number }): string =>
    `${BRAND}您正在订购「${p.subject}」，金额${formatMoney(p.amount)}。验证码${p.code}，${p.ttlMinutes}分钟内有效，请勿告诉他人。`,
  orderTv: (p: { name: string; amount: Money }): string =>
    `${BRAND}您已订购「${p.name}」，金额${formatMoney(p.amount)}，请在手机上输入短信验证码确认支付。`,
  paid: (p: { name: string; amount: Money }): string => `${BRAND}「${p.name}」已支付${formatMoney(p.amount)}，频道即将开通。`,
  provisioned: (p: { name: string; validUntil: string }): string => `${BRAND}「${p.name}」已开通，有效期至${day(p.validUntil)}。`,
  refunded: (p: { name: string; amount: Money }): string => `${BRAND}很抱歉，「${p.name}」未能开通，已为您退款${formatMoney(p.amount)}。`,
  paymentFailed: (p: { name: string }): string => `${BRAND}「${p.name}」支付未成功，订单已关闭。`,
};
