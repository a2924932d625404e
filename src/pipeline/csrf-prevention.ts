/**
 * CSRF prevention (@graphql-yoga/plugin-csrf-prevention): a request a browser
 * can send cross-site without a preflight must carry `x-graphql-yoga-csrf`; one
 * with Authorization was preflighted (browsers always preflight it), so it
 * counts as the header. Its refusal (403) is reworded to say which header and
 * which requests need none: Yoga's "Required CSRF header(s) not present" left a
 * first `curl '…/graphql?query=…'` with nothing to change.
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { CSRF_HEADER_MISSING, withExtensions } from '../errors.js';

export function useCsrfPrevention(): Plugin {
  const yogas = useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] });
  const check = yogas.onRequestParse!;
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
