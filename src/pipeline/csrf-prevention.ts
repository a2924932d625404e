/**
 * CSRF prevention (@graphql-yoga/plugin-csrf-prevention): a request a browser
 * can send cross-site without a preflight must carry `x-graphql-yoga-csrf`; one
 * with Authorization was preflighted (browsers always preflight it), so it
 * counts as the header. Its refusal (403) is reworded to say which header and
 * which requests need none: Yoga's "Required CSRF header(s) not present" left a
 * first `curl '…/graphql?query=…'` with nothing to change.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { CSRF_HEADER_MISSING, withExtensions } from '../errors.js';

/** The headers that stand for a preflight: a request carrying one is never refused. */
const PREFLIGHTED_BY = ['x-graphql-yoga-csrf', 'authorization'];

/** Yoga's plugin, with the headers that stand for a preflight. */
function yogasCheck(): NonNullable<Plugin['onRequestParse']> {
  return useCSRFPrevention({ requestHeaders: PREFLIGHTED_BY }).onRequestParse!;
}

const edgeCheck = yogasCheck();

/**
 * Whether CSRF prevention refuses (403) a request with these node:http headers (names lowercased),
 * decided by the very check the plugin runs, on the headers alone. For the HTTP edge, which must
 * know before it tells a client to send its body (100 Continue) that the pipeline will not read it.
 */
export function csrfRefuses(headers: IncomingHttpHeaders): boolean {
  // The plugin passes any request carrying one of these, whatever else it holds: answered without building a request
  // for it (the edge asks of every POST it may read the body of; README "Measured choices in the code").
  for (const name of PREFLIGHTED_BY) {
    const sent = headers[name];
    if (sent !== undefined && (Array.isArray(sent) ? sent.join(', ') : sent) !== '') return false;
  }
  const value = (name: string) => {
    const sent = headers[name];
    return sent === undefined ? null : Array.isArray(sent) ? sent.join(', ') : sent;
  };
  // `has` as the pipeline's Headers (@whatwg-node/node-fetch) answers it: a field sent empty (`Authorization:`) is
  // none. Counted as sent, the edge sent 100 Continue for a form the plugin then refused unread.
  const request = { headers: { get: value, has: (name: string) => Boolean(value(name.toLowerCase())) } };
  try {
    void edgeCheck({ request } as unknown as Parameters<typeof edgeCheck>[0]);
    return false;
  } catch {
    return true;
  }
}

export function useCsrfPrevention(): Plugin {
  const check = yogasCheck();
  return {
    onRequestParse(payload) {
      try {
        return check(payload);
      } catch (error) {
        // The plugin's only error: its 403 (extensions.http), kept, with a message that says what to send.
        if (error instanceof GraphQLError) throw withExtensions(error, error.extensions, CSRF_HEADER_MISSING);
        throw error;
      }
    },
  };
}
