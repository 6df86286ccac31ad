// The stack's outputs by key: infra/stack.ts writes them and the command line (cli/targets.ts) reads
// them back with DescribeStacks, so a deployed stack tells the comparison where everything is.
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
