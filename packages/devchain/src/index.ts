/**
 * @since 0.1.0
 */

/**
 * A local Substrate-compatible node modelling the StorageProvider pallet, for `@polkadot/api` and polkadot-api.
 *
 * @since 0.1.0
 */
export * as Devchain from "./Devchain.js"
