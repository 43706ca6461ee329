// Prints the plain closing line "Tests: N passed, N failed, N skipped" from vitest's JSON report,
// so a reader of CI output (or a tool) sees how many tests ran without parsing vitest's table.
import { readFileSync } from "node:fs"

const report = JSON.parse(readFileSync(process.argv[2] ?? "build/vitest-results.json", "utf8"))
const skipped = report.numPendingTests + report.numTodoTests
console.log(`Tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`)
process.exit(report.numTotalTests > 0 && report.numFailedTests === 0 ? 0 : 1)
