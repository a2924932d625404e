import { builder } from './builder.js';
import type { ExecutionStatus } from '../domain/execution-status.js';

const values = {
  AWAITING_PAYMENT: { description: 'Created; waiting for the payment to be confirmed before the workflow can start.' },
  PAYMENT_CONFIRMED: { description: 'Payment confirmed; the workflow has not been queued yet.' },
  WORKFLOW_QUEUED: { description: 'The workflow is queued and waiting for a worker.' },
  WORKFLOW_RUNNING: { description: 'The workflow is running.' },
  WORKFLOW_WAITING: { description: 'The workflow is paused, waiting on an external signal or a timer.' },
  WORKFLOW_SUCCEEDED: { description: 'The workflow finished successfully. Terminal: the execution will not change again.' },
  WORKFLOW_FAILED: { description: 'The workflow failed; see `statusReason`. Terminal: the execution will not change again.' },
  WORKFLOW_CANCELLED: { description: 'The workflow was cancelled. Terminal: the execution will not change again.' },
  UNKNOWN: {
    description:
      'Upstream sent a status this schema does not know yet (the API adds statuses over time): read `rawStatus` for the value as sent. Also served when upstream sent no status, or one that cannot be read as text (with an `UNREADABLE_VALUE` note on `status`): `rawStatus` is then null.',
  },
} as const satisfies Record<ExecutionStatus, { description: string }>;

export const ExecutionStatusEnum = builder.enumType('ExecutionStatus', {
  description: 'Lifecycle of an execution, from payment to workflow completion.',
  values,
});
