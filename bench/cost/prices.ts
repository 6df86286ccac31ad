// The price table: prices.json beside this file (region, each price with its source and the date it
// was read), optionally overridden by a file of the same shape (`--prices path.json`). Both are
// validated; an override's entries replace the defaults key by key.
import { readFileSync } from 'node:fs';
import { SchemaError, schemaValidator } from '../report/results.ts';

export interface Price {
  usd: number;
  per: string;
  source: string;
  readOn: string;
  freeTier?: { units: number; per: 'month' };
  note?: string;
}

/** Every price the cost model uses; a SageMaker instance type is `sagemaker.instanceHour.<type>`. */
export const PRICE_KEYS = [
  'stepFunctions.stateTransition',
  'durable.operation',
  'durable.dataWrittenGb',
  'durable.dataRetainedGbMonth',
  'lambda.request',
  'lambda.gbSecondArm64',
  'lambda.gbSecondX86',
  'dynamodb.writeRequestUnit',
  'dynamodb.readRequestUnit',
  's3.tier1Request',
  's3.tier2Request',
  'eventbridge.customEvent',
  'cloudwatch.customMetricMonth',
  'cloudwatch.logIngestedGb',
] as const;
export type PriceKey = (typeof PRICE_KEYS)[number] | `sagemaker.instanceHour.${string}`;

export interface PriceTable {
  region: string;
  currency: 'USD';
  note?: string;
  prices: Record<string, Price>;
}

export const DEFAULT_PRICES_PATH = new URL('./prices.json', import.meta.url);

const priceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['usd', 'per', 'source', 'readOn'],
  properties: {
    usd: { type: 'number', minimum: 0 },
    per: { type: 'string', minLength: 1 },
    source: { type: 'string', pattern: '^https?://' },
    readOn: { type: 'string', format: 'date' },
    freeTier: {
      type: 'object',
      additionalProperties: false,
      required: ['units', 'per'],
      properties: { units: { type: 'number', minimum: 0 }, per: { const: 'month' } },
    },
    note: { type: 'string' },
  },
};

const keyPattern = `^(${PRICE_KEYS.map((k) => k.replace('.', '\\.')).join('|')}|sagemaker\\.instanceHour\\.ml\\.[a-z0-9.]+)$`;

function tableSchema(full: boolean): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: full ? ['region', 'currency', 'prices'] : ['prices'],
    properties: {
      region: { type: 'string', minLength: 1 },
      currency: { const: 'USD' },
      note: { type: 'string' },
      prices: {
        type: 'object',
        propertyNames: { pattern: keyPattern },
        additionalProperties: priceSchema,
        ...(full ? { required: [...PRICE_KEYS] } : {}),
      },
    },
  };
}

const validateTable = schemaValidator<PriceTable>(tableSchema(true), 'the price table');
const validateOverride = (path: string) =>
  schemaValidator<Partial<PriceTable> & Pick<PriceTable, 'prices'>>(
    tableSchema(false),
    `price override file ${path} (same shape as bench/cost/prices.json; keys under "prices" must be one of ${PRICE_KEYS.join(', ')} or sagemaker.instanceHour.<instance type>)`,
  );

function readJson(path: string | URL, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SchemaError(`cannot read ${what} ${String(path)}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SchemaError(`${what} ${String(path)} is not JSON: ${(err as Error).message}`);
  }
}

/** The repo's table, with an override file's prices (and region) on top when given. */
export function loadPrices(overridePath?: string): PriceTable {
  const table = validateTable(readJson(DEFAULT_PRICES_PATH, 'the price table'));
  if (overridePath === undefined) return table;
  const override = validateOverride(overridePath)(readJson(overridePath, 'price override file'));
  return {
    ...table,
    ...(override.region ? { region: override.region } : {}),
    note: `${table.note ?? ''} Overridden by ${overridePath}.`.trim(),
    prices: { ...table.prices, ...override.prices },
  };
}

/** A price by key; a missing one (an instance type the table lacks) names the key and the fix. */
export function priceOf(table: PriceTable, key: PriceKey): Price {
  const price = table.prices[key];
  if (!price)
    throw new SchemaError(
      `the price table has no '${key}': add it to bench/cost/prices.json or to a --prices override file`,
    );
  return price;
}
