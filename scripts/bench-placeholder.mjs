// Placeholder until the benchmark issue lands: `npm run bench` exists so the command is stable,
// but there is nothing to measure yet. It says so instead of printing numbers.
console.log("checkpointer bench: no benchmarks yet (they arrive with the benchmark issue).")
