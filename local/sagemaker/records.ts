// Models and endpoint configurations: plain records that SageMaker creates, describes and deletes
// without any transition, and that endpoints refer to by name.
import { validation } from './errors.ts';
import {
  epoch,
  optionalStringMap,
  parseVariants,
  requireName,
  type Input,
  type VariantSpec,
} from './requests.ts';

export interface Model {
  name: string;
  arn: string;
  image: string;
  modelDataUrl?: string;
  environment: Record<string, string>;
  creationTime: Date;
}

export interface EndpointConfig {
  name: string;
  arn: string;
  variants: VariantSpec[];
  creationTime: Date;
}

/** Builds the ARN of a resource (SageMaker spells resource names in lower case). */
export type ArnOf = (kind: 'model' | 'endpoint-config' | 'endpoint', name: string) => string;

export class Records {
  private readonly models = new Map<string, Model>();
  private readonly configs = new Map<string, EndpointConfig>();

  constructor(
    private readonly arn: ArnOf,
    /** The local cloud's clock: creation times read it. */
    private readonly now: () => Date = () => new Date(),
  ) {}

  model(name: string): Model | undefined {
    return this.models.get(name);
  }

  /** The named config; ValidationException as AWS answers for a missing one. */
  config(name: string): EndpointConfig {
    const config = this.configs.get(name);
    if (!config)
      throw validation(`Could not find endpoint configuration "${this.arn('endpoint-config', name)}".`);
    return config;
  }

  createModel(input: Input): unknown {
    const name = requireName(input, 'ModelName');
    if (this.models.has(name)) {
      throw validation(`Cannot create already existing model "${this.arn('model', name)}".`);
    }
    const containers = Array.isArray(input.Containers) ? (input.Containers as unknown[]) : [];
    const container = input.PrimaryContainer ?? containers[0];
    if (
      container === null ||
      typeof container !== 'object' ||
      typeof (container as Input).Image !== 'string'
    ) {
      throw validation(
        "1 validation error detected: Value null at 'primaryContainer.image' failed to satisfy constraint: Member must not be null",
      );
    }
    const definition = container as Input;
    const model: Model = {
      name,
      arn: this.arn('model', name),
      image: definition.Image as string,
      ...(typeof definition.ModelDataUrl === 'string' ? { modelDataUrl: definition.ModelDataUrl } : {}),
      environment: optionalStringMap(definition, 'Environment', 'primaryContainer.environment'),
      creationTime: this.now(),
    };
    this.models.set(name, model);
    return { ModelArn: model.arn };
  }

  describeModel(input: Input): unknown {
    const name = requireName(input, 'ModelName');
    const model = this.models.get(name);
    if (!model) throw validation(`Could not find model "${this.arn('model', name)}".`);
    return {
      ModelName: model.name,
      ModelArn: model.arn,
      PrimaryContainer: {
        Image: model.image,
        ModelDataUrl: model.modelDataUrl,
        Environment: model.environment,
      },
      CreationTime: epoch(model.creationTime),
    };
  }

  deleteModel(input: Input): unknown {
    const name = requireName(input, 'ModelName');
    if (!this.models.delete(name)) throw validation(`Could not find model "${this.arn('model', name)}".`);
    return {};
  }

  createEndpointConfig(input: Input): unknown {
    const name = requireName(input, 'EndpointConfigName');
    if (this.configs.has(name)) {
      throw validation(
        `Cannot create already existing endpoint configuration "${this.arn('endpoint-config', name)}".`,
      );
    }
    const variants = parseVariants(input);
    for (const v of variants) {
      if (!this.models.has(v.ModelName))
        throw validation(`Could not find model "${this.arn('model', v.ModelName)}".`);
    }
    const config: EndpointConfig = {
      name,
      arn: this.arn('endpoint-config', name),
      variants,
      creationTime: this.now(),
    };
    this.configs.set(name, config);
    return { EndpointConfigArn: config.arn };
  }

  describeEndpointConfig(input: Input): unknown {
    const name = requireName(input, 'EndpointConfigName');
    const config = this.configs.get(name);
    if (!config) throw validation(`Could not find endpoint configuration "${name}".`);
    return {
      EndpointConfigName: config.name,
      EndpointConfigArn: config.arn,
      ProductionVariants: config.variants,
      CreationTime: epoch(config.creationTime),
    };
  }

  deleteEndpointConfig(input: Input): unknown {
    const name = requireName(input, 'EndpointConfigName');
    if (!this.configs.delete(name)) throw validation(`Could not find endpoint configuration "${name}".`);
    return {};
  }
}
