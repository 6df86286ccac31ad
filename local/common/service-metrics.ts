// Where a local service publishes the metrics its AWS counterpart publishes (AWS/Lambda, AWS/States,
// AWS/SageMaker, ...). The local CloudWatch's `service` fits it; the services never import CloudWatch,
// so each stays usable alone, and `startLocalCloud()` wires them together.

export interface MetricsSink {
  /**
   * One datum of an AWS namespace: `at` is epoch ms on the publishing service's own clock (real time;
   * the time scale shortens timers only).
   */
  publish(
    namespace: string,
    name: string,
    dimensions: Record<string, string>,
    value: number,
    unit: string,
    at: number,
  ): void;
}
