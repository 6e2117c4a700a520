/** GET /metrics: the Prometheus text exposition of a registry (src/server/metrics.ts fills it). */
import type { HttpRouter } from './router.js';

/** What the route needs of a metrics registry (prom-client's Registry has it). */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export function registerMetricsRoute(router: HttpRouter, source: MetricsSource): void {
  router.get('/metrics', async (_req, res) => {
    const body = await source.metrics();
    res.writeHead(200, { 'Content-Type': source.contentType });
    res.end(body);
  });
}
