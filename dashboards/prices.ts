// The list prices the dashboard's cost estimate multiplies by, taken from the project's one price
// table (bench/cost/prices.json: region, each price with its source URL and the date it was read), so
// the dashboard and the report price the same units alike. They are inputs of comparisonDashboard,
// so a deployment elsewhere passes its own.
import { loadPrices, priceOf, type PriceTable } from '../bench/cost/prices.ts';

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

const INSTANCE_HOUR = 'sagemaker.instanceHour.';

/** The dashboard's prices from a price table (default: the repo's own). */
export function dashboardPrices(table: PriceTable = loadPrices()): Prices {
  const usd = (key: Parameters<typeof priceOf>[1]): number => priceOf(table, key).usd;
  const readOn = [...new Set(Object.values(table.prices).map((p) => p.readOn))].sort();
  return {
    source: `${table.region} on-demand list prices from bench/cost/prices.json, read ${readOn.join(', ')}`,
    sagemakerInstanceHour: Object.fromEntries(
      Object.entries(table.prices)
        .filter(([key]) => key.startsWith(INSTANCE_HOUR))
        .map(([key, price]) => [key.slice(INSTANCE_HOUR.length), price.usd]),
    ),
    stateTransition: usd('stepFunctions.stateTransition'),
    durableOperation: usd('durable.operation'),
    durableGbWritten: usd('durable.dataWrittenGb'),
    lambdaRequest: usd('lambda.request'),
    lambdaArmGbSecond: usd('lambda.gbSecondArm64'),
  };
}

export const PRICES_US_EAST_1: Prices = dashboardPrices();
