#!/usr/bin/env node
// The package ships TypeScript sources (as every package of this repository); tsx loads them.
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
