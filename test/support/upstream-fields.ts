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
] as const;
export const EXECUTION_JSON = ['clientSafeMetadata', 'requestPayload', 'responsePayload'] as const;
export const EXECUTION_TIMES = ['createdAt', 'updatedAt', 'startedAt', 'finishedAt'] as const;
/** An event's text fields (its id, executionId, createdAt and data are read apart). */
export const EVENT_TEXT = ['eventType', 'level', 'title', 'message', 'nodeId', 'organizationId', 'requestId', 'runId', 'workflowId'] as const;
