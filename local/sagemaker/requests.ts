// Reading the members of a control-plane request as SageMaker validates them: every name, list and
// number is checked before it is used, and a bad one is answered with AWS's ValidationException text,
// never with a JavaScript error.
import { validation } from './errors.ts';

export type Input = Record<string, unknown>;

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

const mustNotBeNull = (path: string): Error =>
  validation(
    `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`,
  );

const constraint = (value: unknown, path: string, rule: string): Error =>
  validation(
    `1 validation error detected: Value '${typeof value === 'string' ? value : JSON.stringify(value)}' at '${path}' failed to satisfy constraint: ${rule}`,
  );

/** A required resource name (model, config, endpoint, variant), as SageMaker's name pattern allows. */
export function requireName(input: Input, member: string, path = lowerFirst(member)): string {
  const value = input[member];
  if (typeof value !== 'string' || value === '') throw mustNotBeNull(path);
  if (!NAME.test(value)) {
    throw constraint(
      value,
      path,
      'Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}',
    );
  }
  return value;
}

/** An optional number member within [min, max]; `integer` when it must be whole. */
export function optionalNumber(
  input: Input,
  member: string,
  range: { min: number; max: number; integer?: boolean },
  path = lowerFirst(member),
): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || (range.integer && !Number.isInteger(value))) {
    throw constraint(value, path, `Member must be ${range.integer ? 'an integer' : 'a number'}`);
  }
  if (value < range.min)
    throw constraint(value, path, `Member must have value greater than or equal to ${range.min}`);
  if (value > range.max)
    throw constraint(value, path, `Member must have value less than or equal to ${range.max}`);
  return value;
}

/** An optional string member that must be one of `allowed`. */
export function optionalEnum<T extends string>(
  input: Input,
  member: string,
  allowed: readonly T[],
): T | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw constraint(
      value,
      lowerFirst(member),
      `Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return value as T;
}

/** A required non-empty list of objects, at most `max` long. */
export function requireObjectList(input: Input, member: string, max: number): Input[] {
  const value = input[member];
  const path = lowerFirst(member);
  if (!Array.isArray(value) || value.length === 0) throw mustNotBeNull(path);
  if (value.length > max) {
    throw constraint(`[${value.length} items]`, path, `Member must have length less than or equal to ${max}`);
  }
  value.forEach((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw mustNotBeNull(`${path}.${i + 1}`);
  });
  return value as Input[];
}

/** An optional string-to-string map (a container's Environment). */
export function optionalStringMap(input: Input, member: string, path: string): Record<string, string> {
  const value = input[member];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw constraint(value, path, 'Member must be a map');
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw constraint(entry, `${path}.${key}`, 'Member must be a string');
  }
  return { ...(value as Record<string, string>) };
}

/** One production variant of CreateEndpointConfig. */
export interface VariantSpec {
  VariantName: string;
  ModelName: string;
  InstanceType?: string;
  InitialInstanceCount?: number;
  InitialVariantWeight?: number;
}

export function parseVariants(input: Input): VariantSpec[] {
  return requireObjectList(input, 'ProductionVariants', 10).map((raw, i) => {
    const path = (member: string): string => `productionVariants.${i + 1}.member.${lowerFirst(member)}`;
    const spec: VariantSpec = {
      VariantName: requireName(raw, 'VariantName', path('VariantName')),
      ModelName: requireName(raw, 'ModelName', path('ModelName')),
    };
    if (raw.InstanceType !== undefined) {
      if (typeof raw.InstanceType !== 'string' || !/^ml\.[a-z0-9.]+$/.test(raw.InstanceType)) {
        throw constraint(
          raw.InstanceType,
          path('InstanceType'),
          'Member must satisfy enum value set of ML instance types',
        );
      }
      spec.InstanceType = raw.InstanceType;
    }
    const count = optionalNumber(
      raw,
      'InitialInstanceCount',
      { min: 1, max: 1000, integer: true },
      path('InitialInstanceCount'),
    );
    if (count !== undefined) spec.InitialInstanceCount = count;
    const weight = optionalNumber(
      raw,
      'InitialVariantWeight',
      { min: 0, max: 1e9 },
      path('InitialVariantWeight'),
    );
    if (weight !== undefined) spec.InitialVariantWeight = weight;
    return spec;
  });
}

/** UpdateEndpointWeightsAndCapacities' DesiredWeightsAndCapacities. */
export interface DesiredVariant {
  VariantName: string;
  DesiredWeight?: number;
  DesiredInstanceCount?: number;
}

export function parseDesiredVariants(input: Input): DesiredVariant[] {
  return requireObjectList(input, 'DesiredWeightsAndCapacities', 10).map((raw, i) => {
    const path = (member: string): string =>
      `desiredWeightsAndCapacities.${i + 1}.member.${lowerFirst(member)}`;
    const desired: DesiredVariant = { VariantName: requireName(raw, 'VariantName', path('VariantName')) };
    const weight = optionalNumber(raw, 'DesiredWeight', { min: 0, max: 1e9 }, path('DesiredWeight'));
    if (weight !== undefined) desired.DesiredWeight = weight;
    const count = optionalNumber(
      raw,
      'DesiredInstanceCount',
      { min: 0, max: 1000, integer: true },
      path('DesiredInstanceCount'),
    );
    if (count !== undefined) desired.DesiredInstanceCount = count;
    return desired;
  });
}

export const ENDPOINT_STATUSES = [
  'OutOfService',
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
  'InService',
  'Deleting',
  'Failed',
  'UpdateRollbackFailed',
] as const;

export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

export interface ListEndpointsQuery {
  sortBy: 'Name' | 'CreationTime' | 'Status';
  descending: boolean;
  max: number;
  start: number;
  nameContains?: string;
  status?: EndpointStatus;
}

export function parseListEndpoints(input: Input): ListEndpointsQuery {
  const token = input.NextToken;
  let start = 0;
  if (token !== undefined && token !== null) {
    start = typeof token === 'string' ? Number(Buffer.from(token, 'base64url').toString()) : NaN;
    if (!Number.isInteger(start) || start < 0) throw validation('Invalid pagination token');
  }
  const nameContains = input.NameContains;
  if (nameContains !== undefined && typeof nameContains !== 'string') {
    throw constraint(nameContains, 'nameContains', 'Member must be a string');
  }
  const query: ListEndpointsQuery = {
    sortBy: optionalEnum(input, 'SortBy', ['Name', 'CreationTime', 'Status'] as const) ?? 'CreationTime',
    descending: optionalEnum(input, 'SortOrder', ['Ascending', 'Descending'] as const) !== 'Ascending',
    max: optionalNumber(input, 'MaxResults', { min: 1, max: 100, integer: true }) ?? 10,
    start,
  };
  if (typeof nameContains === 'string') query.nameContains = nameContains.toLowerCase();
  const status = optionalEnum(input, 'StatusEquals', ENDPOINT_STATUSES);
  if (status) query.status = status;
  return query;
}

/** The next page's token, or nothing when the list ends. */
export function nextToken(start: number, max: number, total: number): { NextToken?: string } {
  return start + max < total ? { NextToken: Buffer.from(String(start + max)).toString('base64url') } : {};
}

/** JSON 1.1 timestamps are epoch seconds. */
export const epoch = (d: Date): number => d.getTime() / 1000;
