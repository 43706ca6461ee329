/**
 * Entry point of `npm start`.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { demo } from "./Demo.js"

NodeRuntime.runMain(demo())
