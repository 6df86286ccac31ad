// What `cdk synth` / `cdk deploy` run (cdk.json "app"): build the app and write the cloud assembly.
import { buildApp } from './app.ts';

buildApp().app.synth();
