/**
 * bodyAsUtf8 re-encodes ISO-8859-1 bodies for a pipeline that reads UTF-8.
 * fast-check checks, for any text ISO-8859-1 can carry, that a whole body and
 * each field of a form read back as the text the client meant, and that a body
 * of ASCII alone comes back byte for byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyAsUtf8 } from '../src/server/body-charset.js';
import { readableContentType } from '../src/server/media-types.js';

// 0x80-0x9F are C1 controls in ISO-8859-1 and letters in windows-1252, which the
// WHATWG Encoding Standard reads the label as; Buffer's latin1 cannot write those
// letters, so the properties leave them out and an example below holds them.
const latin1Char = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((code) => String.fromCharCode(code));
const latin1Text = fc.string({ unit: latin1Char, maxLength: 40 });
const asciiText = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((code) => String.fromCharCode(code)), maxLength: 40 });

describe('bodyAsUtf8', () => {
  it('reads any ISO-8859-1 body as the same text in UTF-8', () => {
    fc.assert(
      fc.property(latin1Text, (text) => {
        expect(bodyAsUtf8(Buffer.from(text, 'latin1'), 'application/json; charset=utf-8').toString('utf8')).toBe(text);
      }),
    );
  });

  it('keeps every field of a form, escaped or sent raw, whatever its text', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(latin1Text, latin1Text, fc.boolean()), { maxLength: 5 }), (fields) => {
        // A form's ISO-8859-1 escapes (%E9); a careless client sends a byte over 0x7F as it is.
        const escaped = (text: string, all: boolean) =>
          text.replace(all ? /[^A-Za-z0-9_.~-]/g : /[^\x21-\x7e\xa0-\xff]|[%&=+#]/g, (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
        const body = fields.map(([name, value, all]) => `${escaped(name, true)}=${escaped(value, all)}`).join('&');
        const read = [...new URLSearchParams(bodyAsUtf8(Buffer.from(body, 'latin1'), 'application/x-www-form-urlencoded').toString('utf8'))];
        expect(read).toEqual(fields.map(([name, value]) => [name, value]));
      }),
    );
  });

  it('reads 0x80-0x9F as windows-1252 letters, raw or escaped in a form, as browsers do', () => {
    // € (0x80), ‚ (0x82) and Ÿ (0x9F): in ISO-8859-1 proper, C1 controls no client means.
    expect(bodyAsUtf8(Buffer.from([0x22, 0x80, 0x82, 0x9f, 0x22]), 'application/json').toString('utf8')).toBe('"€‚Ÿ"');
    const form = bodyAsUtf8(Buffer.from('q=%80%9F&r=\x80', 'latin1'), 'application/x-www-form-urlencoded').toString('utf8');
    expect([...new URLSearchParams(form)]).toEqual([['q', '€Ÿ'], ['r', '€']]);
  });

  it('re-escapes only a form\'s escapes: %E9 in a JSON string is text, left as it is', () => {
    const body = '{"query":"{ execution(id: \\"%E9\\") { id } }","variables":{"v":"%c3%A9 %41"}}';
    expect(bodyAsUtf8(Buffer.from(body, 'latin1'), 'application/json').toString('utf8')).toBe(body);
  });

  it('leaves a body of ASCII alone, but for a form\'s percent-escapes', () => {
    fc.assert(
      fc.property(asciiText, fc.constantFrom('application/json', 'application/x-www-form-urlencoded'), (text, type) => {
        // A form's escapes name ISO-8859-1 bytes and are re-escaped as UTF-8 (%a0 becomes %C2%A0): the property above.
        fc.pre(type === 'application/json' || !/%[0-9A-Fa-f]{2}/.test(text));
        expect(bodyAsUtf8(Buffer.from(text, 'latin1'), type).toString('latin1')).toBe(text);
      }),
    );
  });
});

describe('readableContentType', () => {
  it.each([
    ['application/json', 'application/json', 'utf-8'],
    ['Application/JSON; charset=UTF-8', 'application/json; charset=UTF-8', 'utf-8'],
    ['application/json; charset=us-ascii', 'application/json; charset=us-ascii', 'utf-8'],
    ['application/json; charset=ISO-8859-1', 'application/json; charset=utf-8', 'iso-8859-1'],
    ['application/x-www-form-urlencoded;charset="latin1"', 'application/x-www-form-urlencoded; charset=utf-8', 'iso-8859-1'],
    ['application/json; charset="iso-8859-1"; version=2', 'application/json; charset=utf-8; version=2', 'iso-8859-1'],
    // A charset inside another parameter's quoted value is not the body's.
    ['application/json; profile="a;charset=latin1"', 'application/json; profile="a;charset=latin1"', 'utf-8'],
    ['application/json; profile="x; charset=latin1"; charset=latin1', 'application/json; profile="x; charset=latin1"; charset=utf-8', 'iso-8859-1'],
  ])('reads %s as %s, bytes in %s', (value, header, charset) => {
    expect(readableContentType(value)).toEqual({ header, charset });
  });

  it.each([
    'application/json; charset=utf-16',
    'application/json; charset=shift_jis',
    'application/json; charset=constructor',
    // Two charsets: one of them is wrong, and nothing says which.
    'application/json; charset=latin1; charset=utf-16',
    'application/json; charset=utf-8; charset=latin1',
  ])('refuses %s (a 415)', (value) => {
    expect(readableContentType(value)).toBeNull();
  });
});
