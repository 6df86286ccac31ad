// The CDK app: one stack, its settings from context, and cdk-nag's AwsSolutions checks on everything
// it synthesizes. Environment-agnostic (no account or region at synth), so synth needs no credentials
// and looks nothing up; `cdk deploy` takes both from the caller's AWS profile.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSettings } from './settings.ts';
import { ComparisonStack } from './stack.ts';
import { DEFAULT_STACK_NAME } from './outputs.ts';

export { DEFAULT_STACK_NAME };

export interface BuildOptions {
  /** Context, as `-c key=value` or cdk.json give it; see settings.ts. */
  context?: Record<string, unknown>;
  outdir?: string;
}

export function buildApp(options: BuildOptions = {}): { app: App; stack: ComparisonStack } {
  const app = new App({
    ...(options.context ? { context: options.context } : {}),
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? DEFAULT_STACK_NAME;
  const stack = new ComparisonStack(app, stackName, {
    settings,
    description:
      'Lambda durable functions vs Step Functions on one on-demand SageMaker GPU endpoint lifecycle',
  });
  return { app, stack };
}
