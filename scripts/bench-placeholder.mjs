// The round-latency, throughput and memory benchmarks arrive with the benchmark issue; until then
// `npm run bench` runs what exists (the devchain's) and says what is missing instead of inventing numbers.
console.log("checkpointer bench: round latency, round throughput and memory benchmarks are not written yet.")
