// The claims of a job's OIDC token that a broker refusal shows (its `claims` field), so that a
// user can fix the policy without guessing: the broker writes them, the action reads them back.

export const REFUSAL_CLAIMS = [
  'repository',
  'repository_id',
  'ref',
  'environment',
  'event_name',
  'workflow_ref',
  'job_workflow_ref',
] as const
