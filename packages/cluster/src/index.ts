/**
 * @since 0.1.0
 */
export * as BucketEntity from "./BucketEntity.js"

/**
 * @since 0.1.0
 */
export * as BucketRegistry from "./BucketRegistry.js"

/**
 * @since 0.1.0
 */
export * as BucketScheduler from "./BucketScheduler.js"

/**
 * @since 0.1.0
 */
export * as CheckpointCluster from "./CheckpointCluster.js"

/**
 * @since 0.1.0
 */
export * as ClusterStatus from "./ClusterStatus.js"

/**
 * @since 0.1.0
 */
export * as SqlJournal from "./SqlJournal.js"
