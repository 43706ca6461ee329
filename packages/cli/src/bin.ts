/**
 * Entry point of `npm start`.
 *
 * @since 0.1.0
 */
import { SignatureVerifier } from "@checkpointer/core"
import { NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import { demo } from "./Demo.js"

demo.pipe(Effect.provide(SignatureVerifier.SignatureVerifier.layer), NodeRuntime.runMain)
