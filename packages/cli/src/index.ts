/**
 * `@checkpointer/cli`: the `checkpointer` command. For now it holds the foundation demo that
 * `npm start` runs.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Demo from "./Demo.js"
