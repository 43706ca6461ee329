/**
 * `@checkpointer/papi`: the live chain layer over polkadot-api.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as PapiChainClient from "./PapiChainClient.js"
/** @since 0.1.0 */
export * as PapiCheckpointer from "./PapiCheckpointer.js"
/** @since 0.1.0 */
export * as PapiClient from "./PapiClient.js"
