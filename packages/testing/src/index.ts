/**
 * `@checkpointer/testing`: in-memory fakes of the chain and the provider network, and the
 * `TestNetwork` scenario harness.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Chopsticks from "./Chopsticks.js"
/** @since 0.1.0 */
export * as Exposition from "./Exposition.js"
/** @since 0.1.0 */
export * as FakeChain from "./FakeChain.js"
/** @since 0.1.0 */
export * as FakeProviders from "./FakeProviders.js"
/** @since 0.1.0 */
export * as Loopback from "./Loopback.js"
/** @since 0.1.0 */
export * as Mmr from "./Mmr.js"
/** @since 0.1.0 */
export * as ProviderSimulator from "./ProviderSimulator.js"
/** @since 0.1.0 */
export * as RemoteChain from "./RemoteChain.js"
/** @since 0.1.0 */
export * as SimulatedNetwork from "./SimulatedNetwork.js"
/** @since 0.1.0 */
export * as SpanRecorder from "./SpanRecorder.js"
/** @since 0.1.0 */
export * as TcpProxy from "./TcpProxy.js"
/** @since 0.1.0 */
export * as TestNetwork from "./TestNetwork.js"
