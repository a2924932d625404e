/**
 * The execution and its events as the gateway serves them: the model every
 * other layer shares. The upstream client (src/upstream/) reads the REST
 * envelope into these shapes; the schema (src/schema/) and the events paging
 * (./event-pages.ts) read them; neither knows how they arrived.
 *
 * Field names and meanings follow the executions API (../shared/upstream/openapi.yaml).
 * Timestamps are ISO-8601 strings as upstream sent them.
 */

/** Free-form JSON object as upstream sent it. */
export type JsonObject = Record<string, unknown>;

export interface ExecutionEvent {
  id: string;
  executionId: string;
  createdAt: string;
  eventType: string;
  level: string;
  title?: string | null;
  message?: string | null;
  nodeId?: string | null;
  data?: JsonObject | null;
  organizationId: string;
  requestId: string;
  runId: string;
  workflowId: string;
}

export interface Execution {
  id: string;
  /** Upstream's lowercase status, as sent (see ./execution-status.ts for the enum). */
  status: string;
  statusReason?: string | null;
  paymentStatus: string;
  checkoutSessionId?: string | null;
  orderId?: string | null;
  externalRef?: string | null;
  idempotencyKey: string;
  initiatedById: string;
  initiatedByType: string;
  organizationId: string;
  runId: string;
  workflowId: string;
  sourceEntityId: string;
  sourceEntityType: string;
  sourceSystem: string;
  clientSafeMetadata?: JsonObject | null;
  requestPayload?: JsonObject | null;
  responsePayload?: JsonObject | null;
  createdAt: string;
  updatedAt: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  /** Every event, in upstream's order (upstream only appends). */
  readonly events: readonly ExecutionEvent[];
}
