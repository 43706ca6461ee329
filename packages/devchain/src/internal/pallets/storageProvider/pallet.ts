/**
 * The StorageProvider pallet (index 50): its place in the runtime, its eras, its errors and its
 * constants. The pallet lives in this folder: the types both eras share (`types.ts`), each era's
 * storage, calls and events (`eraC.ts`, `eraA.ts`), one model of its storage over both eras
 * (`model.ts`) and its calls' logic (`calls.ts`). Rules follow protocol-facts §2.
 *
 * @internal
 */
import type { Pallet } from "../../dispatch.js"
import * as S from "../../scale.js"

export const pallet: Pallet = { name: "StorageProvider", index: 50 }

/** Era C (the newest, default) and era A (the oldest, as the real runtime in ../shared/fixtures). */
export type Era = "C" | "A"

export const MAX_MULTIADDR_LENGTH = 128
export const MAX_MEMBERS = 100
export const MAX_PRIMARY_PROVIDERS = 5
export const MIN_PROVIDER_STAKE = 1_000_000_000_000_000n
export const CHALLENGE_TIMEOUT = 28_800
export const REQUEST_TIMEOUT = 3_600
export const CHALLENGE_DEPOSIT = 1_000_000_000_000n

export const constants = [
  { name: "MaxMultiaddrLength", codec: S.u32, value: MAX_MULTIADDR_LENGTH },
  { name: "MaxMembers", codec: S.u32, value: MAX_MEMBERS },
  { name: "MaxPrimaryProviders", codec: S.u32, value: MAX_PRIMARY_PROVIDERS },
  { name: "MinProviderStake", codec: S.u128, value: MIN_PROVIDER_STAKE },
  { name: "MaxChunkSize", codec: S.u32, value: 262_144 },
  { name: "ChallengeTimeout", codec: S.u32, value: CHALLENGE_TIMEOUT },
  { name: "SettlementTimeout", codec: S.u32, value: 14_400 },
  { name: "RequestTimeout", codec: S.u32, value: REQUEST_TIMEOUT },
  { name: "ChallengeDeposit", codec: S.u128, value: CHALLENGE_DEPOSIT }
] as const

/** The pallet's error names, in the real oldest runtime's order; era C appends its newer errors. */
export const errors = (era: Era): ReadonlyArray<string> => [
  "ProviderAlreadyRegistered",
  "ProviderNotFound",
  "InsufficientStake",
  "ProviderHasActiveAgreements",
  "ProviderNotAcceptingPrimary",
  "ProviderNotAcceptingReplicas",
  "ProviderNotAcceptingExtensions",
  "BucketNotFound",
  "BucketFrozen",
  "BucketNotFrozen",
  "NotBucketAdmin",
  "NotBucketMember",
  "NotBucketWriter",
  "MemberNotFound",
  "CannotDemoteAdmin",
  "MaxMembersReached",
  "MaxPrimaryProvidersReached",
  "MinProvidersNotMet",
  "InvalidMinProviders",
  "AgreementNotFound",
  "AgreementRequestNotFound",
  "AgreementAlreadyExists",
  "AgreementRequestAlreadyExists",
  "AgreementExpired",
  "AgreementNotExpired",
  "AgreementExtensionsBlocked",
  "NotAgreementOwner",
  "DurationTooShort",
  "DurationTooLong",
  "PaymentExceedsMax",
  "RequestExpired",
  "CannotTerminateReplica",
  "SettlementWindowPassed",
  "NotReplica",
  "SyncTooFrequent",
  "InvalidSyncRoot",
  "InsufficientSyncBalance",
  "ChallengeNotFound",
  "ChallengeAlreadyExists",
  "InvalidChallengeProof",
  "ChallengeExpired",
  "NotChallengeProvider",
  "ProviderNotInSnapshot",
  "LeafBeyondCanonical",
  "InvalidDeletionProof",
  "InvalidSignature",
  "NoSnapshot",
  "SnapshotViolatesFrozen",
  "InsufficientSignatures",
  "ArithmeticOverflow",
  "InvalidMultiaddr",
  ...(era === "C"
    ? [
      "InvalidPublicKey",
      "TermsBucketMismatch",
      "NonceMismatch",
      "SelfChallenge",
      "UnexpectedReplicaTerms",
      "NotAuthorizedForPrivateBucket",
      "TooManyChallenges"
    ]
    : [])
]
