/**
 * `@checkpointer/core`: the domain, the protocol codecs and the services of a checkpoint round.
 *
 * Modules are exported as namespaces (`Domain`, `Multiaddr`, ...), and the protocol codecs that
 * other packages and tools call are also exported by name.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Amount from "./Amount.js"
/** @since 0.1.0 */
export * as AuthHeader from "./AuthHeader.js"
/** @since 0.1.0 */
export * as ChainAdapter from "./ChainAdapter.js"
/** @since 0.1.0 */
export * as ChainClient from "./ChainClient.js"
/** @since 0.1.0 */
export * as CheckpointConfig from "./CheckpointConfig.js"
/** @since 0.1.0 */
export * as Checkpointer from "./Checkpointer.js"
/** @since 0.1.0 */
export * as CheckpointEvents from "./CheckpointEvents.js"
/** @since 0.1.0 */
export * as CheckpointLoop from "./CheckpointLoop.js"
/** @since 0.1.0 */
export * as CheckpointManager from "./CheckpointManager.js"
/** @since 0.1.0 */
export * as CheckpointResult from "./CheckpointResult.js"
/** @since 0.1.0 */
export * as CommitmentCollector from "./CommitmentCollector.js"
/** @since 0.1.0 */
export * as CommitmentPayload from "./CommitmentPayload.js"
/** @since 0.1.0 */
export * as CommitmentRelation from "./CommitmentRelation.js"
/** @since 0.1.0 */
export * as Consensus from "./Consensus.js"
/** @since 0.1.0 */
export * as Domain from "./Domain.js"
/** @since 0.1.0 */
export * as Drive from "./Drive.js"
/** @since 0.1.0 */
export * as EndpointPolicy from "./EndpointPolicy.js"
/** @since 0.1.0 */
export * as KeyedLock from "./KeyedLock.js"
/** @since 0.1.0 */
export * as LoopStore from "./LoopStore.js"
/** @since 0.1.0 */
export * as Metrics from "./Metrics.js"
/** @since 0.1.0 */
export * as Multiaddr from "./Multiaddr.js"
/** @since 0.1.0 */
export * as ProviderApi from "./ProviderApi.js"
/** @since 0.1.0 */
export * as ProviderDiscovery from "./ProviderDiscovery.js"
/** @since 0.1.0 */
export * as ProviderHealth from "./ProviderHealth.js"
/** @since 0.1.0 */
export * as ProviderProbe from "./ProviderProbe.js"
/** @since 0.1.0 */
export * as ProviderHttpClient from "./ProviderHttpClient.js"
/** @since 0.1.0 */
export * as ReceiptJournal from "./ReceiptJournal.js"
/** @since 0.1.0 */
export * as RetryPolicy from "./RetryPolicy.js"
/** @since 0.1.0 */
export * as RoundJournal from "./RoundJournal.js"
/** @since 0.1.0 */
export * as RoundTrace from "./RoundTrace.js"
/** @since 0.1.0 */
export * as SignatureVerifier from "./SignatureVerifier.js"
/** @since 0.1.0 */
export * as SpendGuard from "./SpendGuard.js"
/** @since 0.1.0 */
export * as Submitter from "./Submitter.js"
/** @since 0.1.0 */
export * as Threshold from "./Threshold.js"

export { authMessage, buildAuthHeader, makeAuthHeader } from "./AuthHeader.js"
export type { RequestSigner } from "./AuthHeader.js"
export { encodeCommitmentPayload, encodeCommitmentPayloadV2 } from "./CommitmentPayload.js"
export {
  AccountId,
  BlockNumber,
  BucketId,
  Commitment,
  decodeMultiSignature,
  encodeMultiSignature,
  Endpoint,
  H256,
  MultiSignature,
  MultiSignatureFromBytes,
  MultiSignatureFromHex,
  ProviderInfo,
  PublicKey,
  U64
} from "./Domain.js"
export { InvalidMultiaddr, multiaddrToUrl } from "./Multiaddr.js"
export {
  InvalidSignature,
  SignatureVerifier as SignatureVerifierTag,
  verifyMultiSignature
} from "./SignatureVerifier.js"
export { requiredSignatures, ThresholdPercent } from "./Threshold.js"
