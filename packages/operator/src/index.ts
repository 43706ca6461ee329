/**
 * `@checkpointer/operator`: what an operator watches a Checkpointer through — `/metrics` in the
 * Prometheus text format, `/healthz` and `/readyz`, and a live status page at `/` — as an
 * `@effect/platform` `HttpRouter`
 * (`OperatorRouter.router`) that any Effect HTTP server can serve or mount.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ChainConnection from "./ChainConnection.js"
/** @since 0.1.0 */
export * as OperatorRouter from "./OperatorRouter.js"
/** @since 0.1.0 */
export * as OtlpTracing from "./OtlpTracing.js"
/** @since 0.1.0 */
export * as PrometheusMetrics from "./PrometheusMetrics.js"
/** @since 0.1.0 */
export * as Readiness from "./Readiness.js"
/** @since 0.1.0 */
export * as StateGauges from "./StateGauges.js"
/** @since 0.1.0 */
export * as StatusFeed from "./StatusFeed.js"
/** @since 0.1.0 */
export * as StatusPage from "./StatusPage.js"
