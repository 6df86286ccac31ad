// The stack's outputs by key: infra/stack.ts writes them and the command line (cli/targets.ts) reads
// them back with DescribeStacks, so a deployed stack tells the comparison where everything is.
/** The stack's name unless context `stackName` says otherwise (here, not in app.ts: no CDK import). */
export const DEFAULT_STACK_NAME = 'DurableVsStepFunctions';

export const STACK_OUTPUTS = {
  bucket: 'UploadsBucket',
  tableName: 'JobsTable',
  stateMachineArn: 'StateMachineArn',
  durableAliasArn: 'DurableAliasArn',
  durableFunctionName: 'DurableFunctionName',
  endpointNameSf: 'EndpointNameSf',
  endpointNameLdf: 'EndpointNameLdf',
  dashboardName: 'DashboardName',
} as const;

export type StackOutputKey = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS];
