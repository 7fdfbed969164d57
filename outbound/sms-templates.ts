/**
 * The SMS templates (patent claim 3: order details to the phone and to the TV). SMS platforms in China
 * (Aliyun, Tencent Cloud) send only pre-approved templates: each message goes out as its template id
 * and parameters, with the text rendered here as the recipient will read it, signature first.
 *
 * The operator edits sms-templates.json (SMS_TEMPLATES_FILE): the sender signature, and per kind of
 * message its template id and its zh-CN text with {param} placeholders. parseSmsTemplates validates it
 * at start and names every problem: a missing template, an unknown placeholder, a stray brace, a
 * template id used twice, a code message without its {code}.
 */
import { z } from 'zod';

/** Each kind of message and the parameters its text may use. */
export const SMS_PARAMS = {
  code: ['subject', 'amount', 'code', 'ttlMinutes'],
  order: ['name', 'amount'],
  paid: ['name', 'amount'],
  provisioned: ['name', 'validUntil'],
  refunded: ['name', 'amount'],
  'payment-failed': ['name'],
} as const;

export type SmsKind = keyof typeof SMS_PARAMS;
export type SmsParams<K extends SmsKind> = Record<(typeof SMS_PARAMS)[K][number], string>;

/** Parameters a kind's text must use: a code message without its code is of no use. */
const REQUIRED: { readonly [K in SmsKind]?: readonly (typeof SMS_PARAMS)[K][number][] } = { code: ['code'] };

const KINDS = Object.keys(SMS_PARAMS) as SmsKind[];

/** What goes to the gateway for one message (besides its id and recipient). */
export type RenderedSms = { templateId: string; signName: string; params: Record<string, string>; text: string };

export type SmsTemplates = {
  signName: string;
  render<K extends SmsKind>(kind: K, params: SmsParams<K>): RenderedSms;
};

export class InvalidSmsTemplates extends Error {
  override readonly name = 'InvalidSmsTemplates';
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The placeholders of a text, or why it cannot be read (a brace without its partner). */
const placeholdersOf = (text: string): string[] | string => {
  const names = [...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
  return /[{}]/.test(text.replace(PLACEHOLDER, '')) ? 'a "{" or "}" that is not part of a {param}' : names;
};

const template = z.strictObject({
  templateId: z.string().trim().min(1, 'the id the SMS platform approved the template under').max(64),
  text: z.string().min(1).max(300),
});

const templatesSchema = z
  .strictObject({
    $comment: z.string().optional(),
    signName: z
      .string()
      .min(2, '2 to 12 characters, without 【】')
      .max(12, '2 to 12 characters, without 【】')
      .refine((s) => !/[【】[\]]/.test(s), 'without 【】: they are added when the text is rendered'),
    templates: z.strictObject(Object.fromEntries(KINDS.map((k) => [k, template.optional()])) as Record<SmsKind, z.ZodOptional<typeof template>>),
  })
  .superRefine((file, ctx) => {
    const ids = new Map<string, SmsKind>();
    for (const kind of KINDS) {
      const t = file.templates[kind];
      const path = ['templates', kind];
      if (t === undefined) {
        ctx.addIssue({ code: 'custom', message: `missing (its text may use ${SMS_PARAMS[kind].map((p) => `{${p}}`).join(', ')})`, path });
        continue;
      }
      const other = ids.get(t.templateId);
      if (other !== undefined) ctx.addIssue({ code: 'custom', message: `"${t.templateId}" is also the id of ${other}`, path: [...path, 'templateId'] });
      ids.set(t.templateId, kind);
      const used = placeholdersOf(t.text);
      if (typeof used === 'string') {
        ctx.addIssue({ code: 'custom', message: used, path: [...path, 'text'] });
        continue;
      }
      const known: readonly string[] = SMS_PARAMS[kind];
      for (const name of used.filter((p) => !known.includes(p))) {
        ctx.addIssue({ code: 'custom', message: `unknown placeholder {${name}} (known: ${known.join(', ')})`, path: [...path, 'text'] });
      }
      for (const name of REQUIRED[kind] ?? []) {
        if (!used.includes(name)) ctx.addIssue({ code: 'custom', message: `must contain {${name}}`, path: [...path, 'text'] });
      }
    }
  });

export const parseSmsTemplates = (json: unknown): SmsTemplates => {
  const parsed = templatesSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidSmsTemplates(`SMS templates: ${problems.join('; ')}`);
  }
  const { signName, templates } = parsed.data;
  return {
    signName,
    render: (kind, params) => {
      const t = templates[kind];
      if (t === undefined) throw new InvalidSmsTemplates(`SMS templates: no template ${kind}`); // validated above: unreachable
      const values: Record<string, string> = params;
      const used: Record<string, string> = {};
      // One pass: a value holding braces is never read as a placeholder.
      const body = t.text.replace(PLACEHOLDER, (_m, name: string) => (used[name] = values[name] ?? ''));
      return { templateId: t.templateId, signName, params: used, text: `【${signName}】${body}` };
    },
  };
};
