import { addEqualityTesters } from "@effect/vitest"

// Lets `expect(...).toEqual` compare Option, Either, Data and Schema.Class values structurally.
addEqualityTesters()
