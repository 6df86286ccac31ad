// The SageMaker control plane: routes each operation to the part that owns it. Models and endpoint
// configurations are plain records (records.ts); endpoints follow the status machine (endpoints.ts);
// requests are validated as SageMaker validates them (requests.ts).
import { LOCAL_ACCOUNT_ID } from '../common/account.ts';
import { Endpoints, type EndpointsOptions } from './endpoints.ts';
import { SageMakerApiError } from './errors.ts';
import { Records } from './records.ts';
import type { Input } from './requests.ts';

export { DEFAULT_TIMINGS, type Timings } from './endpoints.ts';

/** What the endpoints need, less what the control plane derives (the account, ARNs, the records). */
export type ControlPlaneOptions = Omit<EndpointsOptions, 'account' | 'arn' | 'records'> & {
  accountId?: string;
};

export class ControlPlane {
  readonly accountId: string;
  private readonly endpoints: Endpoints;
  private readonly operations: Record<string, (input: Input) => unknown>;

  constructor(o: ControlPlaneOptions) {
    this.accountId = o.accountId ?? LOCAL_ACCOUNT_ID;
    const arn = (kind: string, name: string): string =>
      `arn:aws:sagemaker:${o.region}:${this.accountId}:${kind}/${name.toLowerCase()}`;
    const records = new Records(arn, () => new Date(o.timeScale.now()));
    const endpoints = new Endpoints({ ...o, account: this.accountId, arn, records });
    this.endpoints = endpoints;
    this.operations = {
      CreateModel: (i) => records.createModel(i),
      DescribeModel: (i) => records.describeModel(i),
      DeleteModel: (i) => records.deleteModel(i),
      CreateEndpointConfig: (i) => records.createEndpointConfig(i),
      DescribeEndpointConfig: (i) => records.describeEndpointConfig(i),
      DeleteEndpointConfig: (i) => records.deleteEndpointConfig(i),
      CreateEndpoint: (i) => endpoints.create(i),
      DescribeEndpoint: (i) => endpoints.describe(i),
      UpdateEndpoint: (i) => endpoints.update(i),
      UpdateEndpointWeightsAndCapacities: (i) => endpoints.updateWeightsAndCapacities(i),
      DeleteEndpoint: (i) => endpoints.delete(i),
      ListEndpoints: (i) => endpoints.list(i),
    };
  }

  /** Runs one API operation; throws SageMakerApiError as AWS would answer. */
  call(operation: string, input: Input): unknown {
    const run = Object.hasOwn(this.operations, operation) ? this.operations[operation] : undefined;
    if (!run) {
      throw new SageMakerApiError(
        'UnknownOperationException',
        `The local SageMaker emulator does not implement ${operation}`,
      );
    }
    return run(input);
  }

  /** Where an InService endpoint's invocations go, or why they cannot. */
  route(name: string): ReturnType<Endpoints['route']> {
    return this.endpoints.route(name);
  }

  /** Stops every container and abandons transitions in progress. */
  stop(): Promise<void> {
    return this.endpoints.stop();
  }
}
