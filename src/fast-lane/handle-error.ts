/**
 * graphql-yoga's `handleError` (error.js, not exported): the errors a failed
 * step turns into, aborts dropped and the rest masked as Yoga masks them (the
 * gateway always masks; without masking, as Yoga reports them unmasked).
 */
import { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

/** Yoga's masking configuration, as YogaServer keeps it. */
export interface MaskedErrorsOptions {
  errorMessage: string;
  isDev?: boolean;
  maskError(error: unknown, message: string, isDev?: boolean): Error;
}

/** What handling an error reads off the Yoga instance. */
export interface ErrorHandling {
  maskedErrorsOpts: MaskedErrorsOptions | null;
  logger: { debug(...args: unknown[]): void; error(...args: unknown[]): void };
}

/** The GraphQL errors `error` becomes: each of a group's errors, none for an abort, masked when Yoga masks. */
export function handleError(error: unknown, yoga: ErrorHandling): GraphQLError[] {
  const errors = new Set<GraphQLError>();
  const masking = yoga.maskedErrorsOpts;
  const visit = (each: unknown) => {
    // Yoga takes any object with `errors` for a group of errors, whatever iterable it holds.
    if (typeof each === 'object' && each !== null && 'errors' in each) {
      for (const inner of each.errors as Iterable<unknown>) visit(inner);
    } else if (isAbortError(each)) {
      yoga.logger.debug('Request aborted');
    } else if (masking) {
      const masked = masking.maskError(each, masking.errorMessage, masking.isDev);
      if (masked !== each) yoga.logger.error(each);
      errors.add(masked instanceof GraphQLError ? masked : createGraphQLError(masked.message, { originalError: masked }));
    } else if (each instanceof GraphQLError) {
      errors.add(each);
    } else if (each instanceof Error) {
      errors.add(createGraphQLError(each.message, { originalError: each }));
    } else if (each !== null && each !== undefined && typeof (each as { toString?: unknown }).toString === 'function') {
      errors.add(createGraphQLError(String(each), { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, unexpected: true } }));
    } else {
      yoga.logger.error(each);
      errors.add(createGraphQLError('Unexpected error.', { extensions: { unexpected: true } }));
    }
  };
  visit(error);
  return [...errors];
}

/** An AbortError or TimeoutError DOMException, which Yoga drops rather than reports. */
function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    error.constructor?.name === 'DOMException' &&
    ((error as DOMException).name === 'AbortError' || (error as DOMException).name === 'TimeoutError')
  );
}
