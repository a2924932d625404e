import type { UpstreamEvent, UpstreamExecution } from '../../src/upstream/envelope.js';

/** The execution's fields upstream sends (its documentation's example), by how the gateway reads them, for property tests. */
export const EXECUTION_TEXT = [
  'statusReason',
  'paymentStatus',
  'checkoutSessionId',
  'orderId',
  'externalRef',
  'idempotencyKey',
  'initiatedById',
  'initiatedByType',
  'organizationId',
  'runId',
  'workflowId',
  'sourceEntityId',
  'sourceEntityType',
  'sourceSystem',
] as const satisfies readonly (keyof UpstreamExecution)[];
export const EXECUTION_JSON = ['clientSafeMetadata', 'requestPayload', 'responsePayload'] as const satisfies readonly (keyof UpstreamExecution)[];
export const EXECUTION_TIMES = ['createdAt', 'updatedAt', 'startedAt', 'finishedAt'] as const satisfies readonly (keyof UpstreamExecution)[];
/** An event's text fields (its id, executionId, createdAt and data are read apart). */
export const EVENT_TEXT = ['eventType', 'level', 'title', 'message', 'nodeId', 'organizationId', 'requestId', 'runId', 'workflowId'] as const satisfies readonly (keyof UpstreamEvent)[];
