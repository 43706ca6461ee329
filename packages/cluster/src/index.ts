/**
 * @since 0.1.0
 */
export * as SqlJournal from "./SqlJournal.js"
