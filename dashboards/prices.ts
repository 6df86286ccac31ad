// The list prices the dashboard's cost estimate multiplies by: us-east-1, on-demand, as read from the
// AWS pricing pages in December 2026 (not checked against the Price List API, which these machines
// cannot reach). They are inputs of comparisonDashboard, so a deployment elsewhere passes its own.

export interface Prices {
  /** Where and when these prices were read; shown on the dashboard beside the estimate. */
  source: string;
  /** USD per instance-hour of SageMaker real-time inference, by instance type. */
  sagemakerInstanceHour: Record<string, number>;
  /** USD per Step Functions Standard state transition. */
  stateTransition: number;
  /** USD per durable operation (step, wait, callback, ... each checkpointed operation). */
  durableOperation: number;
  /** USD per GB of durable execution data written. */
  durableGbWritten: number;
  /** USD per Lambda request. */
  lambdaRequest: number;
  /** USD per GB-second of Lambda on ARM64. */
  lambdaArmGbSecond: number;
}

export const PRICES_US_EAST_1: Prices = {
  source: 'us-east-1 on-demand list prices, read December 2026',
  sagemakerInstanceHour: { 'ml.g5.xlarge': 1.408, 'ml.g5.2xlarge': 1.515, 'ml.g4dn.xlarge': 0.736 },
  stateTransition: 0.025 / 1000,
  durableOperation: 8 / 1_000_000,
  durableGbWritten: 0.25,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaArmGbSecond: 0.0000133334,
};
