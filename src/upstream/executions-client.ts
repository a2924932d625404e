/**
 * ExecutionsClient owns all HTTP to the executions API: base URL, the caller's
 * Authorization header, timeouts, body limits, envelope validation and the mapping
 * of every failure to a GraphQLError with a stable `extensions.code`.
 * Resolvers and loaders never see HTTP; they get an ExecutionRecord or an error.
 */
import { Pool, errors as undiciErrors } from 'undici';
import type { GraphQLError } from 'graphql';
import { ErrorCode, errorForUpstreamStatus, gatewayError, type UpstreamFacts } from '../errors.js';
import type { Logger } from '../logger.js';
import { errorEnvelopeSchema, executionEnvelopeSchema, type UpstreamEvent, type UpstreamExecution } from './envelope.js';
import { assertAllowedExecutionId, executionPath } from './execution-path.js';

/** One execution as the gateway serves it: upstream's fields plus its events. */
export type ExecutionRecord = UpstreamExecution & {
  readonly events: readonly UpstreamEvent[];
};

/** Who is calling and how to trace and cancel the call. */
export interface UpstreamCall {
  /** The client's Authorization header, forwarded as is. */
  authorization: string;
  /** Propagated as `x-request-id` so upstream logs can be joined with ours. */
  requestId: string;
  /** Aborted when the GraphQL client goes away. */
  signal?: AbortSignal;
}

export interface ExecutionsClientOptions {
  baseUrl: string;
  timeoutMs: number;
  connections: number;
  maxBodyBytes: number;
  executionIdPattern: RegExp;
  logger: Logger;
}

export class ExecutionsClient {
  readonly #pool: Pool;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #options: ExecutionsClientOptions;

  constructor(options: ExecutionsClientOptions) {
    const url = new URL(options.baseUrl);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#options = options;
    // One keep-alive pool per process: every request reuses warm sockets.
    this.#pool = new Pool(this.#origin, {
      connections: options.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  /** Fetches one execution. Resolves with the record or rejects with a GraphQLError. */
  async getExecution(id: string, call: UpstreamCall): Promise<ExecutionRecord> {
    assertAllowedExecutionId(id, this.#options.executionIdPattern);
    const path = executionPath(this.#origin, this.#basePath, id);

    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;

    let status: number;
    let upstreamRequestId: string | undefined;
    let text: string;
    try {
      const response = await this.#pool.request({
        method: 'GET',
        path,
        signal,
        headers: {
          accept: 'application/json',
          authorization: call.authorization,
          'x-request-id': call.requestId,
        },
      });
      status = response.statusCode;
      upstreamRequestId = headerValue(response.headers['x-request-id']);
      text = await this.#readBody(response.body, response.headers['content-length'], { upstreamStatus: status, upstreamRequestId });
    } catch (error) {
      throw this.#transportError(error, id, timeout.aborted);
    }

    const facts: UpstreamFacts = { upstreamStatus: status, upstreamRequestId };
    if (status !== 200) throw this.#statusError(status, text, facts);
    return this.#parseExecution(id, text, facts);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /** Buffers the body as text, refusing anything over the size cap before it is buffered. */
  async #readBody(
    body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown },
    contentLength: string | string[] | undefined,
    facts: UpstreamFacts,
  ): Promise<string> {
    const limit = this.#options.maxBodyBytes;
    const tooLarge = () =>
      gatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `The executions API answered with a body over ${limit} bytes.`, facts);
    const declared = Number(headerValue(contentLength));
    if (Number.isFinite(declared) && declared > limit) {
      body.destroy();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  #transportError(error: unknown, id: string, timedOut: boolean): GraphQLError {
    if (isGraphQLError(error)) return error;
    if (timedOut || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
      return gatewayError(
        ErrorCode.UPSTREAM_TIMEOUT,
        `The executions API did not answer within ${this.#options.timeoutMs} ms.`,
      );
    }
    this.#options.logger.warn({ executionId: id, err: describe(error) }, 'upstream call failed');
    return gatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The executions API could not be reached.');
  }

  #statusError(status: number, text: string, facts: UpstreamFacts): GraphQLError {
    const envelope = errorEnvelopeSchema.safeParse(safeJson(text));
    const requestId = facts.upstreamRequestId ?? (envelope.success ? envelope.data.requestId : undefined);
    return errorForUpstreamStatus(status, { ...facts, upstreamRequestId: requestId });
  }

  #parseExecution(id: string, text: string, facts: UpstreamFacts): ExecutionRecord {
    const json = safeJson(text);
    const badResponse = (why: string) => {
      this.#options.logger.warn({ executionId: id, why, ...facts }, 'upstream answered with a body that breaks its contract');
      return gatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, 'The executions API answered with a body the gateway cannot read.', facts);
    };
    if (json === undefined) throw badResponse('body is not JSON');

    // A 200 can still carry an error envelope; honour its code rather than invent data.
    const head = errorEnvelopeSchema.safeParse(json);
    if (!head.success) throw badResponse('no numeric envelope code');
    const withRequestId = { ...facts, upstreamRequestId: facts.upstreamRequestId ?? head.data.requestId };
    if (head.data.code !== 200) {
      const mapped = errorForUpstreamStatus(head.data.code, withRequestId);
      if (head.data.code >= 400) throw mapped;
      throw badResponse(`envelope code ${head.data.code}`);
    }

    const envelope = executionEnvelopeSchema.safeParse(json);
    if (!envelope.success) {
      const issue = envelope.error.issues[0];
      throw badResponse(`${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    const { execution, events } = envelope.data.data;
    return { ...execution, events };
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

/** Error details safe to log: never headers, never bodies. */
function describe(error: unknown): { name: string; code?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'unknown', message: String(error) };
}
