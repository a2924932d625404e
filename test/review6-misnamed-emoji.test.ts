/**
 * A misnamed variable's name, quoted cut at 40 characters, is cut at whole characters: an emoji where the cut fell was
 * quoted as the text `\ud83d`, half of a character the client never sent (as f0239a8 mended for an execution id).
 */
import { parse } from 'graphql';
import { expect, it } from 'vitest';
import { misnamedVariableError } from '../src/pipeline/misnamed-variables.js';

it('quotes a long undeclared name without half of an emoji', () => {
  const name = `${'a'.repeat(39)}😀tail`;
  const result = misnamedVariableError(parse('query($id: ID!){execution(id:$id){id}}'), undefined, { [name]: 'ex_demo_1' });
  const message = result!.errors![0]!.message;
  expect(message).toContain(`variables has "${'a'.repeat(39)}…", which the operation does not declare`);
  expect(message).not.toContain('\\ud83d');
});
