// How the project's own AWS SDK clients are configured. On AWS the SDK's defaults apply (region and
// credentials from the Lambda environment); locally every client points at a loopback endpoint with
// static fake credentials, never the default chain (which would probe IMDS or SSO).

export interface ClientConfig {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle?: boolean;
  customUserAgent?: string;
}

/** Fake, static credentials for the local cloud. It accepts any; these are simply the project's. */
export const LOCAL_CREDENTIALS = Object.freeze({ accessKeyId: 'local', secretAccessKey: 'local' });

export const DEFAULT_LOCAL_REGION = 'us-east-1';

/** Client settings for one local service endpoint. */
export function localClientConfig(endpoint: string, region: string = DEFAULT_LOCAL_REGION): ClientConfig {
  return { region, endpoint, credentials: { ...LOCAL_CREDENTIALS }, forcePathStyle: true };
}

/**
 * Said by a client that only watches a run (reads histories, endpoint states, metrics): the local
 * cloud does not count its requests as work in flight, so a watcher never holds a skip clock back.
 */
export const OBSERVER_USER_AGENT = 'dvs-observer';

/** `config` for a client that only watches (OBSERVER_USER_AGENT); on AWS it only names the caller. */
export function observing(config: ClientConfig): ClientConfig {
  return { ...config, customUserAgent: OBSERVER_USER_AGENT };
}
