/**
 * Every error a client can see is built here, so that `extensions.code` stays a
 * stable, documented contract (README "Error codes"). Yoga's masking lets these
 * through because they are GraphQLErrors; anything else is masked.
 */
import { GraphQLError } from 'graphql';

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  UPSTREAM_BAD_RESPONSE: 'UPSTREAM_BAD_RESPONSE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What upstream told us about a failed call, surfaced to help correlate logs. */
export interface UpstreamFacts {
  upstreamStatus?: number;
  upstreamRequestId?: string;
}

/** `extensions` of an error: its code, plus what upstream said when it said anything. */
export function errorExtensions(code: ErrorCode, facts: UpstreamFacts = {}): Record<string, unknown> {
  const extensions: Record<string, unknown> = { code };
  if (facts.upstreamStatus !== undefined) extensions.upstreamStatus = facts.upstreamStatus;
  if (facts.upstreamRequestId !== undefined) extensions.upstreamRequestId = facts.upstreamRequestId;
  return extensions;
}

export function gatewayError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: errorExtensions(code) });
}

export const badUserInput = (message: string) => gatewayError(ErrorCode.BAD_USER_INPUT, message);

export const unauthenticated = () =>
  gatewayError(
    ErrorCode.UNAUTHENTICATED,
    'Missing Authorization header: send the same `Authorization: Bearer <token>` you would send to the executions API.',
  );
