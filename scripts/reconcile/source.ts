/** Where the statement comes from: the platform (signed GET /statements/{day}) or a file an operator downloaded. */
import { readFile } from 'node:fs/promises';
import { sign } from '../../integrations/signature.ts';
import { MalformedStatement, parseStatement, type Statement } from '../../integrations/statement.ts';
import { unavailable } from '../cli.ts';

export const fetchStatement = async (baseUrl: string, secret: string, day: string, timeoutMs = 30_000): Promise<Statement> => {
  const url = `${baseUrl.replace(/\/+$/, '')}/statements/${day}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'text/csv', 'x-platform-signature': sign(secret, '', Date.now() / 1000) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw unavailable(`the payment platform did not answer GET /statements/${day}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  if (res.status === 404) throw unavailable(`the payment platform has no statement for ${day} (yet: it is published once the day has ended, UTC+8)`);
  if (!res.ok) throw unavailable(`the payment platform answered GET /statements/${day} with HTTP ${res.status}`);
  return parse(text, `the statement of ${day}`);
};

export const readStatementFile = async (file: string): Promise<Statement> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw unavailable(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parse(text, file);
};

const parse = (text: string, what: string): Statement => {
  try {
    return parseStatement(text);
  } catch (err) {
    if (err instanceof MalformedStatement) throw unavailable(`${what} is not a statement we can read: ${err.message}`);
    throw err;
  }
};
