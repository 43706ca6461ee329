/**
 * `@checkpointer/polkadot`: the live chain layer over `@polkadot/api`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as DevSetup from "./DevSetup.js"
/** @since 0.1.0 */
export * as PolkadotApi from "./PolkadotApi.js"
/** @since 0.1.0 */
export * as PolkadotChainClient from "./PolkadotChainClient.js"
/** @since 0.1.0 */
export * as PolkadotCheckpointer from "./PolkadotCheckpointer.js"
